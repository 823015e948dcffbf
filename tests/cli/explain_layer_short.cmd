explain --policy policies/jian-yongfeng --input policies/jian/examples/households.json --period 2024-01 --household H004 --output dibao_payment --short
