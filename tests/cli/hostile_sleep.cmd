eval --policy tests/fixtures/hostile/sleep --input tests/fixtures/hostile/one_household.json --outputs napped
