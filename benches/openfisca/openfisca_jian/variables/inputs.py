"""The inputs of DATA.md that the one-month rules read (no formula: set from the CSV pair)."""

from openfisca_core.model_api import MONTH, Enum, Variable

from openfisca_jian.entities import Household, Person


class Region(Enum):
    jizhou = "吉州区"
    qingyuan = "青原区"
    jinggangshan = "井冈山市"
    jian_county = "吉安县"
    jishui = "吉水县"
    xiajiang = "峡江县"
    xingan = "新干县"
    yongfeng = "永丰县"
    taihe = "泰和县"
    suichuan = "遂川县"
    wanan = "万安县"
    anfu = "安福县"
    yongxin = "永新县"


class Area(Enum):
    urban = "城镇"
    rural = "农村"


class Credit(Enum):
    good = "无失信记录"
    general = "一般失信"
    serious = "较重失信"
    severe = "严重失信"


class EmploymentCategory(Enum):
    none = "不属于适用人员"
    fresh_graduate = "应届毕业大学生"
    released_prisoner = "刑满释放人员"
    discharged_soldier = "军队退役人员"


class SelfCare(Enum):
    independent = "生活自理"
    semi_disabled = "半失能"
    fully_disabled = "完全失能"


class Illness(Enum):
    none = "无"
    uremia = "尿毒症"
    mental = "精神病"
    cancer = "恶性肿瘤"
    other_major = "其他重大疾病"
    chronic = "严重慢性病"


class Schooling(Enum):
    none = "未在读"
    compulsory = "义务教育"
    high_school = "普通高中"
    secondary_vocational = "中等职业学校"
    higher_vocational = "高等职业学校、高等专科学校"
    university = "普通高校"
    abroad_self_funded = "自费出国就读、留学"


class region(Variable):
    value_type = Enum
    possible_values = Region
    default_value = Region.jizhou
    entity = Household
    definition_period = MONTH
    label = "县(市、区)"


class area(Variable):
    value_type = Enum
    possible_values = Area
    default_value = Area.urban
    entity = Household
    definition_period = MONTH
    label = "户籍类别"


class credit(Variable):
    value_type = Enum
    possible_values = Credit
    default_value = Credit.good
    entity = Household
    definition_period = MONTH
    label = "失信等级"


class registered_poor(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "建档立卡贫困户"


class pure_female(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "纯女户"


class financial_assets(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "家庭金融资产 (yuan)"


class vehicles(Variable):
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "机动车辆数"


class houses(Variable):
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "住房套数"


class age(Variable):
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "年龄"


class monthly_income(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "月收入 (yuan)"


class employed(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "就业"


class employment_category(Variable):
    value_type = Enum
    possible_values = EmploymentCategory
    default_value = EmploymentCategory.none
    entity = Person
    definition_period = MONTH
    label = "就业成本适用人员类别"


class disability_grade(Variable):
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "残疾等级 (0 无)"


class self_care(Variable):
    value_type = Enum
    possible_values = SelfCare
    default_value = SelfCare.independent
    entity = Person
    definition_period = MONTH
    label = "生活自理能力"


class illness(Variable):
    value_type = Enum
    possible_values = Illness
    default_value = Illness.none
    entity = Person
    definition_period = MONTH
    label = "重大疾病或严重慢性病"


class medical_oop_12m(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "近12个月自付医疗费用 (yuan)"


class rehab_cost_year(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "本年康复费用 (yuan)"


class schooling(Variable):
    value_type = Enum
    possible_values = Schooling
    default_value = Schooling.none
    entity = Person
    definition_period = MONTH
    label = "在读情况"


class tuition_year(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "本学年学费 (yuan)"


class pension_contrib_year(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "本年养老保险个人缴费 (yuan)"


class alive(Variable):
    value_type = bool
    default_value = True
    entity = Person
    definition_period = MONTH
    label = "在世"


class imprisoned(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "服刑"


class has_supporter(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "实际有人赡养"


class tekun(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "特困供养人员 (optional: false when the data has no such column)"
