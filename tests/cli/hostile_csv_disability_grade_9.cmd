eval --policy policies/jian --data tests/fixtures/hostile/csv_disability_9 --format csv
