eval --policy policies/jian --input tests/fixtures/hostile/disability_grade_9.json
