"""兜底 doudi from Python: load a social-assistance policy, evaluate households exactly, explain a
value, simulate a scenario.

The same engine as the ``doudi`` command line (the same checks, evaluator, explanations and
messages), with Arrow tables in and out. Money and decimals are exact: ``decimal128`` columns in
Arrow, :class:`decimal.Decimal` in Python; never a float.

>>> import doudi, pyarrow.csv as pv
>>> policy = doudi.Policy.load("policies/jian")
>>> opts = pv.ConvertOptions(strings_can_be_null=False, column_types={"household_id": "string"})
>>> households = pv.read_csv("policies/jian/examples/population/households.csv", convert_options=opts)
>>> persons = pv.read_csv("policies/jian/examples/population/persons.csv")
>>> result = policy.evaluate(households, persons, "2024-01", outputs=["dibao_eligible", "dibao_payment"])
>>> result.schema.field("dibao_payment").type
Decimal128Type(decimal128(38, 2))
>>> result.slice(0, 2).to_pylist()      # doctest: +SKIP
[{'household_id': 'H001', 'dibao_eligible': True, 'dibao_payment': Decimal('434.00')}, ...]
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
