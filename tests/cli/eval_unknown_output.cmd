eval --policy policies/jian --input policies/jian/examples/households.json --period 2024-01 --outputs dibao_paymnt
