test tests/fixtures/failing
