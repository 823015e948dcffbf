"""The two entities of the Ji'an rules: a person, and the household (户) they belong to."""

from openfisca_core.entities import build_entity

Household = build_entity(
    key="household",
    plural="households",
    label="Household (户)",
    doc="A household of DATA.md's households.csv; its members are the rows of persons.csv.",
    roles=[{"key": "member", "plural": "members", "label": "Member"}],
)

Person = build_entity(
    key="person",
    plural="persons",
    label="Person",
    doc="A member of a household (a row of persons.csv).",
    is_person=True,
)

entities = [Household, Person]
