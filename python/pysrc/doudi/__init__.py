"""兜底 doudi from Python: load a social-assistance policy, evaluate households exactly, explain a
value, simulate a scenario.

The same engine as the ``doudi`` command line (the same checks, evaluator, explanations and
messages), with Arrow tables in and out. Money and decimals are exact: ``decimal128`` columns in
Arrow, :class:`decimal.Decimal` in Python; never a float.

>>> import doudi, pandas as pd
>>> policy = doudi.Policy.load("policies/jian")
>>> households = pd.read_csv("policies/jian/examples/population/households.csv", dtype=str)
>>> persons = pd.read_csv("policies/jian/examples/population/persons.csv", dtype=str)
>>> result = policy.evaluate(households, persons, "2024-01", outputs=["dibao_eligible", "dibao_payment"])
>>> result.schema.field("dibao_payment").type
Decimal128Type(decimal128(38, 2))
>>> result.slice(0, 2).to_pylist()
[{'household_id': 'H001', 'dibao_eligible': True, 'dibao_payment': Decimal('838.00')}, {'household_id': 'H002', 'dibao_eligible': True, 'dibao_payment': Decimal('1752.00')}]

Reading the CSV files as text (``dtype=str``) hands each cell to doudi's reader as the CSV file
holds it; ``pandas`` would otherwise read money as floats, which doudi refuses. Arrow tables with
``decimal128`` money (Parquet files, for instance) go in as they are, without a copy.
"""

from __future__ import annotations

from ._policy import Explanation, Policy
from ._simulate import Report, simulate
from .errors import (
    DataError,
    DoudiError,
    EvalError,
    OutputError,
    ParameterError,
    PeriodError,
    PolicyError,
    ScenarioError,
)

__version__ = "0.1.0"

__all__ = [
    "Policy",
    "Explanation",
    "simulate",
    "Report",
    "DoudiError",
    "PolicyError",
    "DataError",
    "EvalError",
    "OutputError",
    "PeriodError",
    "ParameterError",
    "ScenarioError",
]
