eval --policy policies/jian --input policies/jian/examples/households.json --period 2024-1
