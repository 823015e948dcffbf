eval --policy policies/jian --input policies/jian/examples/households.json --period 2024-01 --outputs member_count,per_capita_income,dibao_eligible,dibao_payment,care_allowance,total_benefit
