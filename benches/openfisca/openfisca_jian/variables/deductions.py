"""Rigid deductions of each member (policies/jiangxi/deductions.doudi), monthly."""

from openfisca_core.model_api import MONTH, Variable, min_, not_, where

from openfisca_jian.entities import Person
from openfisca_jian.variables.inputs import EmploymentCategory, Illness, Schooling


class counted(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "计入家庭人口 (alive and not imprisoned)"

    def formula(person, period):
        return person("alive", period) * not_(person("imprisoned", period))


class medical_deduction(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "重大疾病或严重慢性病医疗费用扣减"
    reference = "001 五(一)政策解讀5(1)"

    def formula(person, period):
        ill = person("illness", period) != Illness.none
        return where(ill, person("medical_oop_12m", period) / 12, 0)


class rehab_deduction(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "残疾人康复费用扣减"
    reference = "001 五(一)政策解讀5(2)"

    def formula(person, period, parameters):
        cap = parameters(period).deductions.rehab_cap
        cost = person("rehab_cost_year", period)
        disabled = person("disability_grade", period) >= 1
        return where(disabled, min_(cost, cap) / 12, 0)


class tuition_deductible(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "学费属于扣减范围"
    reference = "001 五(一)政策解讀5(3)"

    def formula(person, period):
        s = person("schooling", period)
        return (
            (s == Schooling.secondary_vocational)
            + (s == Schooling.higher_vocational)
            + (s == Schooling.university)
        )


class tuition_deduction(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "义务教育外教育费用扣减"

    def formula(person, period):
        return where(
            person("tuition_deductible", period), person("tuition_year", period) / 12, 0
        )


class pension_deduction(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "养老保险个人缴费扣减"
    reference = "001 五(一)政策解讀5(4)"

    def formula(person, period):
        return person("pension_contrib_year", period) / 12


class employment_cost(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "就业成本扣减 (30% of the household's standard)"
    reference = "001 五(一)政策解讀5(5)"

    def formula(person, period, parameters):
        rate = parameters(period).deductions.employment_cost_rate
        applies = person("employed", period) * (
            person("employment_category", period) != EmploymentCategory.none
        )
        return where(applies, rate * person.household("standard", period), 0)


class personal_deductions(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "成员刚性支出扣减合计"
    reference = "001 五(一)政策解讀5(6)"

    def formula(person, period):
        return (
            person("medical_deduction", period)
            + person("rehab_deduction", period)
            + person("tuition_deduction", period)
            + person("pension_deduction", period)
            + person("employment_cost", period)
        )
