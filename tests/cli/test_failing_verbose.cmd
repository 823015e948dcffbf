test tests/fixtures/failing --verbose
