diff --base policies/jian --new policies/jian-yongfeng --input policies/jian/examples/households.json --period 2024-01 --outputs dibao_payment --person-outputs --examples 0
