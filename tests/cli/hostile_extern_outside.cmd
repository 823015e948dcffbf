check tests/fixtures/hostile/extern_shadow
