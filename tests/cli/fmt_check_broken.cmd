fmt --check tests/fixtures/broken
