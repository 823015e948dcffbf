check tests/fixtures/hostile/extends_up
