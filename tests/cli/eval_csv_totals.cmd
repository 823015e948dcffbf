eval --policy policies/jian --data policies/jian/examples/population --period 2024-01 --outputs dibao_eligible,dibao_payment,care_allowance,centralised_care_cost,total_benefit --format csv --totals
