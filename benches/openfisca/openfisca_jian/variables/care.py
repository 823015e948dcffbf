"""Care allowance and centralised care (policies/jian/care.doudi), the priority group
(policies/jian/priority.doudi) and the benefit totals (policies/jian/benefit.doudi)."""

from openfisca_core.model_api import MONTH, Variable

from openfisca_jian.entities import Household, Person
from openfisca_jian.money import round_cents
from openfisca_jian.variables.inputs import Area, Illness, SelfCare


def _major_illness(illness):
    return (
        (illness == Illness.uremia) + (illness == Illness.mental) + (illness == Illness.cancer)
    )


class care_allowance_eligible(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "享受失能照护补贴"
    reference = "001 五(三)"

    def formula(person, period):
        illness = person("illness", period)
        grade = person("disability_grade", period)
        household_poor = person.household("dibao_eligible", period) + person.household(
            "expenditure_poor", period
        )
        return (
            person("counted", period)
            * ~person("tekun", period)
            * (person.household("area", period) == Area.urban)
            * household_poor
            * (_major_illness(illness) + (illness == Illness.other_major) + (grade == 1) + (grade == 2))
            * (person("self_care", period) == SelfCare.fully_disabled)
        )


class centralised_care_eligible(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "纳入集中供养照护"
    reference = "001 五(三)"

    def formula(person, period, parameters):
        p = parameters(period).care
        adopted = p.centralised_care_adopted[person.household("region", period)]
        care = person("self_care", period)
        return (
            adopted
            * person("counted", period)
            * (person.household("area", period) == Area.rural)
            * person.household("registered_poor", period)
            * person.household("pure_female", period)
            * (person("age", period) >= p.elderly_age)
            * ((care == SelfCare.semi_disabled) + (care == SelfCare.fully_disabled))
            * ~person("has_supporter", period)
        )


class care_allowance(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "失能照护补贴(每月)"

    def formula(household, period, parameters):
        eligible = household.sum(household.members("care_allowance_eligible", period))
        return parameters(period).care.care_allowance_amount * eligible


class centralised_care_cost(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "集中供养照护费用(每月)"

    def formula(household, period, parameters):
        standard = parameters(period).care.centralised_care_standard[
            household.members("self_care", period)
        ]
        eligible = household.members("centralised_care_eligible", period)
        return household.sum(standard * eligible)


class priority_member(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "重点认定对象"

    def formula(person, period):
        grade = person("disability_grade", period)
        return (grade == 1) + (grade == 2) + _major_illness(person("illness", period))


class priority_group(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "属于重点认定范围"

    def formula(household, period):
        return household.any(
            household.members("counted", period) * household.members("priority_member", period)
        )


class cash_benefit(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "现金救助(每月): dibao_payment + care_allowance, rounded"

    def formula(household, period):
        return round_cents(household("dibao_payment", period) + household("care_allowance", period))


class total_benefit(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "救助费用合计(每月): cash + centralised care, rounded"

    def formula(household, period):
        return round_cents(
            household("dibao_payment", period)
            + household("care_allowance", period)
            + household("centralised_care_cost", period)
        )
