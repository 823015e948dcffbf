eval --policy tests/fixtures/conflict --input tests/fixtures/conflict/household.json --outputs dibao_eligible
