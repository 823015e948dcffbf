test tests/fixtures/tables
