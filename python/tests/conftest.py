"""Shared helpers: the repository's root, the `doudi` command line to compare with, the Ji'an
example population as pyarrow tables and pandas DataFrames."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv
import pytest

ROOT = Path(__file__).resolve().parents[2]
POPULATION = ROOT / "policies/jian/examples/population"
JIAN = ROOT / "policies/jian"

#: The money columns of docs/DATA.md's CSV pair.
MONEY = [
    "financial_assets",
    "monthly_income",
    "medical_oop_12m",
    "rehab_cost_year",
    "tuition_year",
    "pension_contrib_year",
]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in the tests (and in the package's doctests) are relative to the repository root."""
    monkeypatch.chdir(ROOT)


def doudi_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs the `doudi` binary built from this repository (DOUDI_BIN, or target/debug/doudi, or
    `cargo run`)."""
    binary = os.environ.get("DOUDI_BIN") or str(ROOT / "target/debug/doudi")
    if os.path.exists(binary):
        command = [binary, *args]
    else:
        command = [shutil.which("cargo") or "cargo", "run", "-q", "--", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def cli_rows(*args: str) -> list[dict[str, str]]:
    """`doudi eval … --format csv` as a list of rows (column → cell text)."""
    out = doudi_cli("eval", "--format", "csv", *args)
    assert out.returncode == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


def cli_text(value: Any, arrow_type: pa.DataType) -> str:
    """A cell of an evaluate() result as `doudi eval --format csv` prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        assert pa.types.is_decimal(arrow_type)
        return str(value)  # the scale is the column's: money prints two places
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def population_arrow() -> tuple[pa.Table, pa.Table]:
    """The Ji'an example population with money as decimal128 and ids as strings."""
    types = {"household_id": pa.string(), "person_id": pa.string()}
    types.update({c: pa.decimal128(18, 2) for c in MONEY})
    opts = pv.ConvertOptions(column_types=types)
    households = pv.read_csv(POPULATION / "households.csv", convert_options=opts)
    persons = pv.read_csv(POPULATION / "persons.csv", convert_options=opts)
    return households, persons


def population_pandas() -> tuple[Any, Any]:
    """The Ji'an example population as DataFrames of text (each cell as the CSV file has it)."""
    import pandas as pd

    households = pd.read_csv(POPULATION / "households.csv", dtype=str)
    persons = pd.read_csv(POPULATION / "persons.csv", dtype=str)
    return households, persons


def json_to_tables(path: Path) -> tuple[pa.Table, pa.Table]:
    """Households in docs/DATA.md's JSON as the CSV pair's two tables (every cell as text)."""
    households, persons = [], []
    for h in json.loads(path.read_text()):
        row = {k: _cell(v) for k, v in h.items() if k not in ("id", "members", "previous")}
        households.append({"household_id": h["id"], **row})
        for p in h["members"]:
            cells = {k: _cell(v) for k, v in p.items() if k != "id"}
            persons.append({"person_id": p["id"], "household_id": h["id"], **cells})
    return pa.Table.from_pylist(households), pa.Table.from_pylist(persons)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
