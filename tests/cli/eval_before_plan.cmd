eval --policy policies/jian --input policies/jian/examples/households.json --period 2020-05
