"""Policy.explain: the CLI's explanation, as a dict that prints as the CLI's text."""

from __future__ import annotations

import decimal
import json
import pickle

import pytest
from conftest import JIAN, ROOT, doudi_cli

import doudi

HOUSEHOLDS = ROOT / "policies/jian/examples/households.json"


@pytest.fixture(scope="module")
def policy() -> doudi.Policy:
    return doudi.Policy.load(JIAN)


@pytest.fixture(scope="module")
def h004() -> dict:
    return next(h for h in json.loads(HOUSEHOLDS.read_text()) if h["id"] == "H004")


def cli(*args: str) -> str:
    out = doudi_cli(
        "explain", "--policy", "policies/jian", "--input", str(HOUSEHOLDS),
        "--household", "H004", *args,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_dict_is_the_cli_json_and_prints_as_the_cli_text(policy: doudi.Policy, h004: dict) -> None:
    why = policy.explain(h004, "dibao_payment", "2024-01")
    assert isinstance(why, dict)
    assert why["household"] == "H004"
    assert why["period"] == "2024-01"
    assert why["output"] == "dibao_payment"
    assert "member" not in why
    assert why["tree"] == json.loads(cli("--output", "dibao_payment", "--format", "json"))
    assert why.text() == cli("--output", "dibao_payment")
    assert str(why) == why.text()
    assert why.text(depth=2) == cli("--output", "dibao_payment", "--depth", "2")
    assert why.short() == cli("--output", "dibao_payment", "--short")
    assert why.value == why["tree"]["value"]
    html = why._repr_html_()
    assert html.startswith("<details open><summary><code>dibao_payment = ")
    assert f"<pre>{__import__('html').escape(why.text())}</pre>" in html


def test_json_text_money_as_decimal_and_overrides(policy: doudi.Policy, h004: dict) -> None:
    text = json.dumps(h004)
    assert policy.explain(text, "dibao_payment", "2024-01") == policy.explain(
        h004, "dibao_payment", "2024-01"
    )
    members = [dict(m, monthly_income=decimal.Decimal(m["monthly_income"])) for m in h004["members"]]
    as_decimal = policy.explain(dict(h004, members=members), "dibao_payment", "2024-01")
    assert as_decimal.value == policy.explain(h004, "dibao_payment", "2024-01").value
    richer = policy.explain(h004, "standard", "2024-01", set={"dibao_standard.rural": "700"})
    expected = cli("--output", "standard", "--set", "dibao_standard.rural=700")
    assert richer.text() == expected


def test_a_person_definition_for_a_member(policy: doudi.Policy, h004: dict) -> None:
    member = h004["members"][0]["id"]
    why = policy.explain(h004, "medical_deduction", "2024-01", member=member)
    assert why["member"] == member
    assert why.text() == cli("--output", "medical_deduction", "--member", member)


def test_why_not_and_pickling(policy: doudi.Policy) -> None:
    households = json.loads(HOUSEHOLDS.read_text())
    falses = [policy.explain(h, "dibao_eligible", "2024-01") for h in households]
    refused = [w for w in falses if w.value == "false"]
    assert refused, "the example households include one that is not eligible"
    reasons = refused[0].why_not()
    assert reasons and all(isinstance(r, str) and r for r in reasons)
    assert pickle.loads(pickle.dumps(refused[0])) == dict(refused[0])


def test_explain_errors(policy: doudi.Policy, h004: dict) -> None:
    with pytest.raises(doudi.OutputError, match="is a person definition") as e:
        policy.explain(h004, "medical_deduction", "2024-01")
    assert e.value.name == "medical_deduction"
    with pytest.raises(doudi.OutputError, match="no member `nobody`") as e:
        policy.explain(h004, "medical_deduction", "2024-01", member="nobody")
    assert e.value.household == "H004"
    assert e.value.members == [m["id"] for m in h004["members"]]
    with pytest.raises(doudi.DataError) as d:
        policy.explain(dict(h004, vehicles="many"), "dibao_payment", "2024-01")
    assert d.value.field == "vehicles"
    assert d.value.file == "household"
    with pytest.raises(doudi.PeriodError):
        policy.explain(h004, "dibao_payment", "January")
    with pytest.raises(ValueError, match="depth"):
        policy.explain(h004, "dibao_payment", "2024-01").text(depth=0)


def test_a_household_of_arrow_tables(policy: doudi.Policy) -> None:
    from conftest import population_arrow, population_pandas

    households, persons = population_arrow()
    why = policy.explain("H006", "dibao_payment", "2024-01", households=households, persons=persons)
    assert why["household"] == "H006"
    payments = policy.evaluate(households, persons, "2024-01", outputs=["dibao_payment"])
    assert why.value == str(payments.column("dibao_payment")[5].as_py())
    frames = population_pandas()
    again = policy.explain("H006", "dibao_payment", "2024-01", households=frames[0], persons=frames[1])
    assert again == why
    with pytest.raises(doudi.DataError, match="no household `H999`"):
        policy.explain("H999", "dibao_payment", "2024-01", households=households, persons=persons)
    with pytest.raises(TypeError):
        policy.explain("H006", "dibao_payment", "2024-01", households=households)
