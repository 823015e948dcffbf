eval --policy policies/jian --input tests/fixtures/hostile/one_household.json --set grace_months=-2
