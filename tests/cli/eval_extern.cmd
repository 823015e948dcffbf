eval --policy tests/fixtures/extern --input policies/jian/examples/households.json --period 2024-01 --outputs gap_index,dibao_payment
