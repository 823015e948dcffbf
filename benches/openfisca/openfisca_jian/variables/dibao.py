"""Dibao (最低生活保障): household size, income, per-capita income after deductions, eligibility and
payment (policies/jiangxi/dibao.doudi, assets.doudi, credit.doudi, expenditure.doudi)."""

from openfisca_core.model_api import MONTH, Variable, max_, where

from openfisca_jian.entities import Household
from openfisca_jian.money import round_cents, snap


class standard(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "本户适用的低保标准 (dibao_standard[area])"

    def formula(household, period, parameters):
        return parameters(period).dibao_standard[household("area", period)]


class member_count(Variable):
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "计入家庭人口数"

    def formula(household, period):
        return household.sum(household.members("counted", period))


class gross_income(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "家庭月收入 (counted members)"

    def formula(household, period):
        counted = household.members("counted", period)
        income = household.members("monthly_income", period)
        # a sum of cents: snapped to the cent
        return snap(household.sum(income * counted), 2)


class rigid_deductions(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "家庭刚性支出扣减合计 (counted members)"

    def formula(household, period):
        counted = household.members("counted", period)
        deductions = household.members("personal_deductions", period)
        return snap(household.sum(deductions * counted))


class per_capita_income(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "扣减后家庭月人均收入 (0 when no member is counted)"

    def formula(household, period):
        n = household("member_count", period)
        surplus = snap(
            max_(0, household("gross_income", period) - household("rigid_deductions", period))
        )
        return where(n > 0, surplus / max_(n, 1), 0)


class assets_ok(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "财产状况符合 (票子、车子、房子)"

    def formula(household, period, parameters):
        p = parameters(period).deductions
        limit = household("standard", period) * p.asset_months * household("member_count", period)
        return (
            (household("financial_assets", period) <= limit)
            * (household("vehicles", period) <= p.max_vehicles)
            * (household("houses", period) <= p.max_houses)
        )


class credit_ok(Variable):
    value_type = bool
    default_value = True
    entity = Household
    definition_period = MONTH
    label = "诚信状况符合 (Ji'an does not stop benefits for dishonesty: always true)"

    def formula(household, period):
        return household.filled_array(True)


class dibao_eligible(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "符合最低生活保障条件"
    reference = "001 二(一)1"

    def formula(household, period):
        return (
            (household("member_count", period) >= 1)
            * (household("per_capita_income", period) < household("standard", period))
            * household("assets_ok", period)
            * household("credit_ok", period)
        )


class dibao_payment(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "低保金(按月补差), rounded half away from zero to the cent"

    def formula(household, period):
        gap = household("standard", period) - household("per_capita_income", period)
        due = round_cents(gap * household("member_count", period))
        return where(household("dibao_eligible", period), due, 0)


class expenditure_poor(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "支出型贫困低收入家庭"
    reference = "001 五(一)政策解讀4"

    def formula(household, period, parameters):
        p = parameters(period).dibao
        s = household("standard", period)
        g = household("gross_income", period)
        return (
            (household("member_count", period) >= 1)
            * ~household("dibao_eligible", period)
            * household("assets_ok", period)
            * household("credit_ok", period)
            * (household("per_capita_income", period) < p.near_poor_multiple * s)
            * (household("rigid_deductions", period) >= p.expenditure_share * g)
        )


class grace_income_line(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "延退收入线(人均): used over time by doudi's simulator"

    def formula(household, period, parameters):
        return parameters(period).dibao.grace_income_multiple * household("standard", period)


class grace_period(Variable):
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "本户适用的延退期 (months)"

    def formula(household, period, parameters):
        return household.filled_array(parameters(period).dibao.grace_months)
