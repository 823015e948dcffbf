test tests/fixtures/failing_county
