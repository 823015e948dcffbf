audit --policy policies/jian --data policies/jian/examples/population --period 2024-01
