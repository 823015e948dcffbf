eval --policy policies/jian --input tests/fixtures/hostile/one_household.json --set dibao_standard.urban=-1
