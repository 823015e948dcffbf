explain --policy policies/jian --input policies/jian/examples/households.json --period 2024-01 --household H002 --output dibao_payment --depth 1
