test tests/fixtures/extern
