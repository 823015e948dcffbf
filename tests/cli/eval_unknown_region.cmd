eval --policy policies/jian --input tests/fixtures/unknown_region.json --period 2024-01
