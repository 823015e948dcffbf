diff --base policies/jian --data policies/jian/examples/population
