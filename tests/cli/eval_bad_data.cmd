eval --policy policies/jian --input tests/fixtures/bad_household.json --period 2024-01
