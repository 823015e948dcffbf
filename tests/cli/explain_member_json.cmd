explain --policy policies/jian --input policies/jian/examples/households.json --period 2024-01 --household H004 --output centralised_care_due --member H004-2 --format json
