explain --policy policies/jian --input policies/jian/examples/households.json --household H002 --output dibao_payment --short --format json
