#!/usr/bin/env python3
"""doudi's Python package on a CSV pair already in Arrow: reads the pair into pyarrow tables (every
column as text, as python/benchmarks/scale.py does), then evaluates the same outputs as run.py with
``doudi.Policy.evaluate``. Prints each step's time on stderr (``step seconds``) for measure.sh;
``--warm`` evaluates a second time in the same process (``evaluate_warm``: the first call of a
process also prepares the policy).

    python doudi_arrow.py --data DIR --period 2024-01 [--out FILE.csv]
"""

import time

START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# the 17 outputs of run.py (benches/common/mod.rs SPEC_OUTPUTS), without importing OpenFisca
OUTPUTS = [
    "assets_ok", "care_allowance", "cash_benefit", "centralised_care_cost", "credit_ok",
    "dibao_eligible", "dibao_payment", "expenditure_poor", "grace_income_line", "grace_period",
    "gross_income", "member_count", "per_capita_income", "priority_group", "rigid_deductions",
    "standard", "total_benefit",
]


def read(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    opts = pv.ConvertOptions(column_types={c: pa.string() for c in header})
    return pv.read_csv(path, convert_options=opts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--period", default="2024-01")
    parser.add_argument("--policy", default=os.path.join(ROOT, "policies", "jian"))
    parser.add_argument("--warm", action="store_true", help="then evaluate a second time")
    parser.add_argument("--out", help="write the result as CSV (not part of the evaluate time)")
    args = parser.parse_args()

    def step(name, t0):
        print(f"{name} {time.perf_counter() - t0:.3f}", file=sys.stderr, flush=True)
        return time.perf_counter()

    import doudi

    t = step("import", START)
    policy = doudi.Policy.load(args.policy)
    t = step("load_policy", t)
    households = read(os.path.join(args.data, "households.csv"))
    persons = read(os.path.join(args.data, "persons.csv"))
    t = step("read_arrow", t)
    table = policy.evaluate(households, persons, args.period, outputs=OUTPUTS)
    t = step("evaluate", t)
    if args.out:
        pv.write_csv(table, args.out)
        t = step("write_csv", t)
    if args.warm:
        policy.evaluate(households, persons, args.period, outputs=OUTPUTS)
        step("evaluate_warm", t)


if __name__ == "__main__":
    main()
