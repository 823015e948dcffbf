diff --base policies/jian --new tests/fixtures/jian_urban_plus50 --data policies/jian/examples/population --period 2024-01 --examples 2
