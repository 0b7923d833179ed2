"""How far a mean over a handful of seeds can be trusted: Student's t interval, computed exactly without SciPy.

The paper re-runs flagged configurations with 10 seeds; with 2-10 values the normal 1.96 would make the band far too
narrow (the 95% factor is 12.7 for 2 seeds, 2.26 for 10), so the factor comes from the t distribution.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

CONFIDENCE = 0.95


def t_within(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with an integer df >= 1: the finite series of Abramowitz & Stegun 26.7.3-4."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 0:
        term = total = 1.0
        for k in range(1, df // 2):
            term *= (2 * k - 1) / (2 * k) * c2
            total += term
        return math.sin(theta) * total
    total = 0.0
    if df > 1:
        term = total = math.cos(theta)
        for k in range(1, (df - 1) // 2):
            term *= (2 * k) / (2 * k + 1) * c2
            total += term
    return 2 / math.pi * (theta + math.sin(theta) * total)


def t_factor(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student-t quantile: mean ± factor * sd / sqrt(n) covers the true mean with `confidence`."""
    if df < 1:
        raise ValueError(f"df={df} is not valid; a t interval needs at least 2 values (df >= 1)")
    low, high = 0.0, 1e4
    for _ in range(100):  # bisection; the series rises monotonically in t
        mid = (low + high) / 2
        low, high = (mid, high) if t_within(mid, df) < confidence else (low, mid)
    return (low + high) / 2


def mean_band(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float | None]:
    """The mean of `values` and the half-width of its confidence interval (None for a single value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    return mean, t_factor(len(values) - 1, confidence) * statistics.stdev(values) / math.sqrt(len(values))


Z_95 = 1.959963984540054  # the two-sided 95% quantile of the standard normal


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a rate k/n (95% by default). At 3-20 replications the normal approximation
    fails where it matters most: at 0/n or n/n it has zero width. Wilson's stays inside [0, 1] and never collapses."""
    if n < 1:
        raise ValueError(f"n={n} is not valid; a rate needs at least one trial")
    rate = k / n
    scale = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / scale
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)
