#!/usr/bin/env python3
"""Compares the OpenFisca runner's CSV with `doudi eval --format csv` for the same pair and outputs.

    python compare.py OPENFISCA.csv DOUDI.csv

Runs nothing itself. Booleans and integers must be equal. Amounts: doudi prints exact decimals rounded
half away from zero to the cent; the OpenFisca value (a float) must round to the same cent. Prints,
for each output, how many rows differ at all, the largest absolute difference, and how many rows
disagree at the cent; exits 1 on any disagreement (listing the first households).
"""

import sys

import numpy
import pandas

EXACT = {
    "assets_ok",
    "credit_ok",
    "dibao_eligible",
    "expenditure_poor",
    "priority_group",
    "member_count",
    "grace_period",
}


def cents_half_away(x):
    """Float yuan to integer cents, half away from zero (ties snapped to 1e-4 cent first)."""
    c = numpy.round(numpy.abs(x) * 100, 4)
    return (numpy.sign(x) * numpy.floor(c + 0.5)).astype(numpy.int64)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours = pandas.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
    theirs = pandas.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
    if len(ours) != len(theirs) or not (ours.household_id.values == theirs.household_id.values).all():
        merged = ours.merge(theirs, on="household_id", suffixes=("", "_doudi"), how="outer")
        if len(merged) != len(ours) or len(merged) != len(theirs):
            sys.exit("error: the two files do not hold the same households")
        theirs = merged[[c + "_doudi" for c in ours.columns if c != "household_id"]]
        theirs.columns = [c for c in ours.columns if c != "household_id"]
        theirs.insert(0, "household_id", merged.household_id)
        ours = merged[ours.columns]
    outputs = [c for c in ours.columns if c != "household_id"]
    missing = [c for c in outputs if c not in theirs.columns]
    if missing:
        sys.exit(f"error: doudi's file has no column {', '.join(missing)}")
    print(f"{len(ours)} households, {len(outputs)} outputs")
    print(f"{'output':<24}{'rows differing':>15}{'max |diff|':>14}{'cent disagreements':>20}")
    bad = {}
    for name in outputs:
        a, b = ours[name], theirs[name]
        if name in EXACT:
            diff = (a.str.lower() != b.str.lower()).to_numpy()
            print(f"{name:<24}{diff.sum():>15}{'':>14}{diff.sum():>20}")
            disagree = diff
        else:
            x = a.astype(float).to_numpy()
            y = b.astype(float).to_numpy()
            d = numpy.abs(x - y)
            differing = int((d > 1e-9).sum())
            disagree = cents_half_away(x) != numpy.round(y * 100).astype(numpy.int64)
            print(f"{name:<24}{differing:>15}{d.max() if len(d) else 0:>14.6g}{disagree.sum():>20}")
        if disagree.any():
            bad[name] = ours.household_id[disagree].head(5).tolist()
    if bad:
        print("DISAGREEMENT:")
        for name, ids in bad.items():
            print(f"  {name}: e.g. {', '.join(ids)}")
        sys.exit(1)
    print("agreement: every boolean and integer equal, every amount equal at the cent")


if __name__ == "__main__":
    main()
