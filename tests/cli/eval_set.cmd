eval --policy policies/jian --input policies/jian/examples/households.json --period 2024-01 --outputs dibao_payment --set dibao_standard.urban=784 --set dibao_standard.rural=604
