eval --policy policies/jian --input tests/fixtures/hostile/one_household.json --set employment_cost_rate=150%
