"""Rounding helpers for money held in binary floating point.

Every amount of the Ji'an rules is exact in decimal: incomes and assets are cents, each deduction is a
yearly amount in cents divided by 12, so a household's rigid deductions and its income surplus are
multiples of 1/1200 yuan, and a payment ``(S - y) * n`` is too. Binary floats carry those values with
an error of about 1e-12, which is enough to flip ``y < S`` when ``y == S`` exactly, or a half-cent
rounding. The helpers below snap a float to the decimal grid the exact value lies on before it is
compared or rounded: the exact values are at least 1/1200 yuan apart, far more than the float error.
"""

import numpy


def snap(x, decimals=6):
    """``x`` rounded to ``decimals`` places: removes the binary error of a sum of decimal amounts."""
    return numpy.round(x, decimals)


def round_cents(x):
    """Rounds to 0.01 yuan, half away from zero (POLICY-SPEC: "rounded"), not numpy's half to even."""
    cents = numpy.round(numpy.abs(x) * 100, 4)
    return numpy.sign(x) * numpy.floor(cents + 0.5) / 100
