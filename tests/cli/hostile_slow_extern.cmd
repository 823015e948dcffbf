eval --policy tests/fixtures/hostile/slow --input tests/fixtures/hostile/one_household.json --outputs churned
