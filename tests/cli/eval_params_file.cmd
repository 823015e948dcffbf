eval --policy policies/jian --input policies/jian/examples/households.json --params tests/fixtures/reform.toml --outputs dibao_payment,care_allowance
