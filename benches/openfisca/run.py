#!/usr/bin/env python3
"""Evaluates the OpenFisca port of the Ji'an rules for a DATA.md CSV pair and writes one row per
household (household_id, then the outputs) as CSV.

    python run.py --data DIR --period 2024-01 --out FILE.csv [--float32]

Prints the time of each step (imports, CSV read, simulation build, compute, write) on stderr, one
``step seconds`` line each, for measure.sh. ``--warm`` then builds and computes a second simulation
in the same process (the tax-benefit system and the tables already loaded).
"""

import time

START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy  # noqa: E402
import pandas  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from openfisca_core.simulations import SimulationBuilder  # noqa: E402

from openfisca_jian import JianTaxBenefitSystem  # noqa: E402

# POLICY-SPEC's one-month household outputs (benches/common/mod.rs SPEC_OUTPUTS), in that order.
OUTPUTS = [
    "assets_ok",
    "care_allowance",
    "cash_benefit",
    "centralised_care_cost",
    "credit_ok",
    "dibao_eligible",
    "dibao_payment",
    "expenditure_poor",
    "grace_income_line",
    "grace_period",
    "gross_income",
    "member_count",
    "per_capita_income",
    "priority_group",
    "rigid_deductions",
    "standard",
    "total_benefit",
]

HOUSEHOLD_INPUTS = {
    "region": str,
    "area": str,
    "registered_poor": bool,
    "pure_female": bool,
    "financial_assets": float,
    "vehicles": int,
    "houses": int,
    "credit": str,
}
PERSON_INPUTS = {
    "age": int,
    "monthly_income": float,
    "employed": bool,
    "employment_category": str,
    "disability_grade": int,
    "self_care": str,
    "illness": str,
    "medical_oop_12m": float,
    "rehab_cost_year": float,
    "schooling": str,
    "tuition_year": float,
    "pension_contrib_year": float,
    "alive": bool,
    "imprisoned": bool,
    "has_supporter": bool,
    "tekun": bool,
}
OPTIONAL = {"tekun": False}


def read(path, columns, key_columns):
    """A CSV of the pair, with only the columns the rules read. Money is parsed by pandas as float64
    (compare.py checks every amount against doudi's exact decimals). Booleans are ``true``/``false``
    or ``1``/``0`` (DATA.md)."""
    header = pandas.read_csv(path, nrows=0).columns
    present = [c for c in columns if c in header]
    missing = [c for c in columns if c not in header and c not in OPTIONAL]
    if missing:
        sys.exit(f"error: {path} has no column {', '.join(missing)}")
    dtypes = {c: (str if columns[c] in (str, bool) else columns[c]) for c in present}
    dtypes.update({k: str for k in key_columns})
    frame = pandas.read_csv(
        path,
        usecols=key_columns + present,
        dtype=dtypes,
        keep_default_na=False,
    )
    for c in present:
        if columns[c] is bool:
            frame[c] = frame[c].isin(["true", "1"])
    for c, default in OPTIONAL.items():
        if c in columns and c not in present:
            frame[c] = default
    return frame


def build(system, households, persons, period):
    """The simulation, from the arrays of the two tables (SimulationBuilder's survey-data API)."""
    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", persons["person_id"].to_numpy())
    household = builder.declare_entity("household", households["household_id"].to_numpy())
    roles = numpy.zeros(len(persons), dtype=numpy.int64)  # every person is a `member`
    builder.join_with_persons(household, persons["household_id"].to_numpy(), roles)
    simulation = builder.build(system)
    for frame, inputs in ((households, HOUSEHOLD_INPUTS), (persons, PERSON_INPUTS)):
        for name in inputs:
            values = frame[name].to_numpy()
            variable = system.variables[name]
            if variable.value_type.__name__ == "Enum":
                values = variable.possible_values.encode(values.astype(str))
            simulation.set_input(name, period, values)
    return simulation


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="directory with households.csv, persons.csv")
    parser.add_argument("--period", default="2024-01", help="the month, YYYY-MM")
    parser.add_argument("--out", required=True, help="the CSV to write")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="then build and compute a second simulation in the same process (build_warm, compute_warm)",
    )
    parser.add_argument(
        "--float32", action="store_true", help="stock OpenFisca float32 money (default: float64)"
    )
    args = parser.parse_args()

    def step(name, t0):
        print(f"{name} {time.perf_counter() - t0:.3f}", file=sys.stderr, flush=True)
        return time.perf_counter()

    t = step("import", START)
    system = JianTaxBenefitSystem(float64=not args.float32)
    t = step("load_system", t)
    households = read(os.path.join(args.data, "households.csv"), HOUSEHOLD_INPUTS, ["household_id"])
    persons = read(
        os.path.join(args.data, "persons.csv"), PERSON_INPUTS, ["person_id", "household_id"]
    )
    t = step("read_csv", t)
    simulation = build(system, households, persons, args.period)
    t = step("build", t)
    results = {"household_id": households["household_id"].to_numpy()}
    for name in OUTPUTS:
        results[name] = simulation.calculate(name, args.period)
    t = step("compute", t)
    table = pandas.DataFrame(results)
    for name in OUTPUTS:
        if table[name].dtype == bool:  # as doudi writes them
            table[name] = numpy.where(table[name], "true", "false")
    table.to_csv(args.out, index=False)  # floats as their shortest round-trip text
    t = step("write_csv", t)
    if args.warm:
        simulation = build(system, households, persons, args.period)
        t = step("build_warm", t)
        for name in OUTPUTS:
            simulation.calculate(name, args.period)
        step("compute_warm", t)


if __name__ == "__main__":
    main()
