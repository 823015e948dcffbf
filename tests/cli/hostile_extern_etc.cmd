check tests/fixtures/hostile/extern_etc
