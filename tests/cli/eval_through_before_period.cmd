eval --policy policies/jian --input tests/data/over_time/applications.json --period 2024-09 --through 2024-08
