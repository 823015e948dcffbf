"""Policy.load and Policy.evaluate: the CLI's numbers, exactly, from pyarrow and from pandas."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest
from conftest import (
    JIAN,
    POPULATION,
    cli_rows,
    cli_text,
    json_to_tables,
    population_arrow,
    population_pandas,
)

import doudi

PERIOD = "2024-01"


@pytest.fixture(scope="module")
def policy() -> doudi.Policy:
    return doudi.Policy.load(JIAN)


def assert_same_as_cli(result: pa.Table, expected: list[dict[str, str]]) -> None:
    """Every cell of `result` printed as the CLI prints it equals the CLI's cell."""
    assert result.column_names == list(expected[0].keys())
    assert result.num_rows == len(expected)
    types = {f.name: f.type for f in result.schema}
    for got, want in zip(result.to_pylist(), expected):
        printed = {k: cli_text(v, types[k]) for k, v in got.items()}
        assert printed == want


def test_load_checks_the_policy(policy: doudi.Policy) -> None:
    assert policy.path == str(JIAN)
    assert policy.warnings == ""
    assert policy.outputs[:3] == ["assets_ok", "credit_ok", "standard"]
    assert "dibao_payment" in policy.outputs


def test_evaluate_from_pyarrow_equals_the_cli(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    result = policy.evaluate(households, persons, PERIOD)
    assert_same_as_cli(result, cli_rows("--policy", "policies/jian", "--data", str(POPULATION)))
    assert result.num_rows == 40


def test_money_is_decimal128_never_float(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    result = policy.evaluate(households, persons, PERIOD)
    schema = result.schema
    assert schema.field("household_id").type == pa.string()
    for name in ["dibao_payment", "standard", "per_capita_income", "total_benefit"]:
        assert schema.field(name).type == pa.decimal128(38, 2), name
    assert schema.field("dibao_eligible").type == pa.bool_()
    assert schema.field("member_count").type == pa.int64()
    assert schema.field("decision_deadline").type == pa.date32()
    assert not any(pa.types.is_floating(f.type) for f in schema)


def test_evaluate_from_pandas_with_outputs_and_overrides_equals_the_cli(
    policy: doudi.Policy,
) -> None:
    households, persons = population_pandas()
    outputs = ["dibao_eligible", "dibao_payment", "total_benefit"]
    result = policy.evaluate(
        households, persons, "2024-07", outputs=outputs, set={"dibao_standard.urban": "800"}
    )
    expected = cli_rows(
        "--policy", "policies/jian", "--data", str(POPULATION), "--period", "2024-07",
        "--outputs", ",".join(outputs), "--set", "dibao_standard.urban=800",
    )  # fmt: skip
    assert_same_as_cli(result, expected)
    # The override was for that call only.
    plain = policy.evaluate(households, persons, "2024-07", outputs=outputs)
    assert plain.column("dibao_payment") != result.column("dibao_payment")


def test_batches_readers_and_several_chunks_give_the_same_table(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    whole = policy.evaluate(households, persons, PERIOD, outputs=["dibao_payment"])
    chunked = pa.Table.from_batches(households.to_batches(max_chunksize=7))
    reader = pa.RecordBatchReader.from_batches(persons.schema, persons.to_batches(max_chunksize=5))
    assert policy.evaluate(chunked, reader, PERIOD, outputs=["dibao_payment"]).equals(whole)
    batch = households.combine_chunks().to_batches()[0]
    assert policy.evaluate(batch, persons, PERIOD, outputs=["dibao_payment"]).equals(whole)


def test_persons_in_any_order(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    whole = policy.evaluate(households, persons, PERIOD, outputs=["dibao_payment"])
    reversed_persons = persons.take(list(range(persons.num_rows - 1, -1, -1)))
    assert policy.evaluate(households, reversed_persons, PERIOD, outputs=["dibao_payment"]).equals(
        whole
    )


def test_period_as_a_date(policy: doudi.Policy) -> None:
    import datetime

    households, persons = population_arrow()
    a = policy.evaluate(households, persons, datetime.date(2024, 3, 15), outputs=["standard"])
    b = policy.evaluate(households, persons, "2024-03", outputs=["standard"])
    assert a.equals(b)


def test_load_with_overrides_and_pickle(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    richer = doudi.Policy.load(JIAN, set=["dibao_standard.urban=800"])
    assert richer.overrides == [("dibao_standard.urban", "800")]
    assert policy.with_params({"dibao_standard.urban": 800}).overrides == richer.overrides
    again = pickle.loads(pickle.dumps(richer))
    assert again.overrides == richer.overrides
    one = richer.evaluate(households, persons, PERIOD, outputs=["dibao_payment"])
    assert again.evaluate(households, persons, PERIOD, outputs=["dibao_payment"]).equals(one)


def test_a_policy_that_does_not_check_is_a_policy_error() -> None:
    with pytest.raises(doudi.PolicyError) as e:
        doudi.Policy.load("tests/fixtures/broken")
    err = e.value
    assert "expected `then` after the condition" in str(err)
    assert "tests/fixtures/broken/rules.doudi:12:28" in str(err)
    first = err.diagnostics[0]
    assert first["severity"] == "error"
    assert first["location"] == "tests/fixtures/broken/rules.doudi:12:28"
    assert first["message"] == "expected `then` after the condition"
    assert isinstance(err, doudi.DoudiError)


def test_a_missing_policy_is_a_policy_error() -> None:
    with pytest.raises(doudi.PolicyError, match="no_such_policy"):
        doudi.Policy.load("no_such_policy")


def test_a_bad_cell_is_a_data_error_with_file_row_and_field(policy: doudi.Policy) -> None:
    households, persons = population_pandas()
    persons.loc[3, "age"] = "x"
    with pytest.raises(doudi.DataError) as e:
        policy.evaluate(households, persons, PERIOD)
    err = e.value
    assert (err.file, err.row, err.field) == ("persons", 4, "age")
    assert err.expected == "an integer in `0..=130`"
    assert str(err) == 'persons row 4: person "H002-2", field "age": expected an integer, found "x"'
    assert isinstance(err, ValueError)


def test_float_money_is_refused(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    floats = households.set_column(
        households.schema.get_field_index("financial_assets"),
        "financial_assets",
        households.column("financial_assets").cast(pa.float64()),
    )
    with pytest.raises(doudi.DataError, match="binary floating point") as e:
        policy.evaluate(floats, persons, PERIOD)
    assert e.value.file == "households"


def test_missing_columns_and_unknown_households_are_data_errors(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    with pytest.raises(doudi.DataError, match='missing column "age"') as e:
        policy.evaluate(households, persons.drop_columns(["age"]), PERIOD)
    assert e.value.file == "persons"
    with pytest.raises(doudi.DataError, match="has no person row") as e:
        policy.evaluate(households, persons.slice(0, 3), PERIOD)
    assert (e.value.file, e.value.row) == ("households", 3)
    with pytest.raises(doudi.DataError, match="expected a pyarrow Table"):
        policy.evaluate([1, 2], persons, PERIOD)


def test_outputs_that_are_not_household_outputs(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    with pytest.raises(doudi.OutputError) as e:
        policy.evaluate(households, persons, PERIOD, outputs=["dibao_paymnt"])
    assert e.value.name == "dibao_paymnt"
    assert e.value.suggestions == ["dibao_payment"]
    assert "dibao_payment" in e.value.household_outputs
    assert str(e.value).startswith("unknown output `dibao_paymnt`; did you mean `dibao_payment`?")
    with pytest.raises(doudi.OutputError, match="is a person definition"):
        policy.evaluate(households, persons, PERIOD, outputs=["medical_deduction"])


def test_periods_and_overrides_that_are_wrong(policy: doudi.Policy) -> None:
    households, persons = population_arrow()
    with pytest.raises(doudi.PeriodError) as e:
        policy.evaluate(households, persons, "2024-13")
    assert e.value.text == "2024-13"
    assert "out of range" in str(e.value)
    with pytest.raises(doudi.ParameterError, match="unknown parameter `no_such`"):
        policy.evaluate(households, persons, PERIOD, set={"no_such": "1"})
    with pytest.raises(doudi.ParameterError, match="is a float"):
        policy.with_params({"dibao_standard.urban": 800.5})


def test_an_evaluation_error_is_an_eval_error(policy: doudi.Policy) -> None:
    conflict = doudi.Policy.load("tests/fixtures/conflict")
    households, persons = json_to_tables(
        __import__("pathlib").Path("tests/fixtures/conflict/household.json")
    )
    with pytest.raises(doudi.EvalError) as e:
        conflict.evaluate(households, persons, PERIOD)
    err = e.value
    assert err.rule == "dibao_eligible"
    assert err.household == "C1"
    assert err.location == "tests/fixtures/conflict/rules.doudi:6:21"
    assert str(err).startswith("error: conflicting exceptions for `dibao_eligible`")
