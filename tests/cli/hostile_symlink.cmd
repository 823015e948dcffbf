check tests/fixtures/hostile/symlink
