eval --policy policies/jian --input tests/fixtures/hostile/negative_age.json
