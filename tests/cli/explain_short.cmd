explain --policy policies/jian --input policies/jian/examples/households.json --period 2024-01 --household H030 --output dibao_eligible --short
