eval --policy tests/fixtures/extern --input policies/jian/examples/households.json --period 2024-01 --outputs spin_result
