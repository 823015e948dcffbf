eval --policy policies/jian --input policies/jian/examples/households.json --period 2021-06 --outputs standard,dibao_payment
