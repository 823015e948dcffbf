check tests/fixtures/hostile/extends_etc
