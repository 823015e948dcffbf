check tests/fixtures/broken
