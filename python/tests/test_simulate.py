"""doudi.simulate: the report's tables as DataFrames, equal to the CSV files `doudi simulate`
writes."""

from __future__ import annotations

import csv
import decimal
from pathlib import Path

import pytest
from conftest import ROOT, doudi_cli

import doudi

SMALL = "tests/data/simulate/small.toml"


def cells(frame) -> list[list[str]]:
    """A DataFrame's header and rows as the CSV file's text."""
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    return [list(frame.columns), *rows]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[doudi.Report, Path]:
    out = tmp_path_factory.mktemp("reports") / "cli"
    ran = doudi_cli("simulate", SMALL, "--runs", "1", "--out", str(out), "-q")
    assert ran.returncode == 0, ran.stderr
    (out / "stdout.txt").write_text(ran.stdout)
    import os

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        report = doudi.simulate(SMALL, runs=1)
    finally:
        os.chdir(here)
    return report, out


def test_every_table_equals_the_cli_csv(small: tuple[doudi.Report, Path]) -> None:
    report, out = small
    names = sorted(p.stem for p in out.glob("*.csv") if p.stem != "series")
    assert len(names) >= 10
    assert sorted(report) == names
    for name in names:
        with open(out / f"{name}.csv", newline="") as f:
            expected = list(csv.reader(f))
        assert cells(report[name]) == expected, name
    with open(out / "series.csv", newline="") as f:
        series = list(csv.reader(f))
    got = [[str(v).lower() if isinstance(v, bool) else str(v) for v in r] for r in report.series.itertuples(index=False)]
    assert [list(report.series.columns), *got] == series


def test_types_are_exact(small: tuple[doudi.Report, Path]) -> None:
    report, _ = small
    monthly = report.monthly
    assert monthly is report["monthly"]
    assert isinstance(monthly["dibao_spending_yuan"].iloc[0], decimal.Decimal)
    assert monthly["dibao_households_cases"].dtype == "int64"
    assert monthly.attrs["title_en"] == "Caseload and spending by month"
    assert report.series["mean"].map(type).eq(decimal.Decimal).all()
    assert not any(str(t).startswith("float") for t in report.series.dtypes)
    assert report.summary["scenario"]["name"] == "small"
    assert report.headline.startswith("small: 40 simulated households")
    assert report.files == []


def test_the_headline_is_the_cli_headline(small: tuple[doudi.Report, Path]) -> None:
    report, out = small
    printed = (out / "stdout.txt").read_text()
    assert printed.startswith(report.headline)
    assert printed[len(report.headline) :].startswith("report: ")


def test_a_dict_scenario_and_a_report_directory(tmp_path: Path) -> None:
    scenario = {
        "scenario": {
            "name": "tiny", "policy": "policies/jian", "start": "2024-07",
            "months": 2, "runs": 1, "seed": 5,
        },
        "population": {"data": "policies/jian/examples/population", "weight": 100},
        "reform": {"name": "plus 50", "parameters": {"dibao_standard.urban": {"add": decimal.Decimal("50")}}},
        "report": {"png": False, "xlsx": False},
    }  # fmt: skip
    report = doudi.simulate(scenario, out=tmp_path / "tiny")
    assert report["monthly"]["month"].tolist() == ["2024-07", "2024-08", "2024-07", "2024-08"]
    assert "reform_monthly" in report
    assert "monthly.csv" in report.files
    written = (tmp_path / "tiny" / "monthly.csv").read_text().splitlines()
    assert written == [",".join(r) for r in cells(report.monthly)]


def test_scenario_errors() -> None:
    with pytest.raises(doudi.ScenarioError) as e:
        doudi.simulate("tests/data/simulate/unknown_key.toml")
    assert e.value.file == "tests/data/simulate/unknown_key.toml"
    assert e.value.problems and e.value.problems[0][0] == "dynamics.job_losses"
    assert "unknown field" in str(e.value)
    with pytest.raises(doudi.ScenarioError, match="does not load") as e:
        doudi.simulate("tests/data/simulate/bad_policy.toml")
    with pytest.raises(doudi.ScenarioError, match="cannot read"):
        doudi.simulate("tests/data/simulate/no_such_file.toml")
    with pytest.raises(doudi.ScenarioError) as e:
        doudi.simulate({"scenario": {"name": "x", "months": "many"}})
    assert e.value.file == "<scenario>"
    with pytest.raises(doudi.ScenarioError, match="runs must be between 1 and"):
        doudi.simulate(SMALL, runs=0)
    with pytest.raises(doudi.ScenarioError, match="cannot be written in a scenario: object"):
        doudi.simulate({"scenario": {"name": object()}})
