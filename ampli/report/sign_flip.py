"""Whether continual and reinit runs differ, from a handful of twin pairs: the paired sign-flip permutation test and
the interval it implies.

Twins (one continual and one reinit run with the same trait, seed and settings) share cycle 0, so each pair gives
one difference of the two runs' changes from cycle 0. If the regime's reinit setting made no difference, either run
of a pair could as well have been the continual one: each difference would be as likely with its sign flipped. The
test asks how often flipping the pairs' signs gives a sum at least as far from 0 as the observed one. It assumes
nothing about how the differences are distributed, which a paired t test would (normal), and which 6-20 differences
of bounded, skewed scores from a few traits cannot show. The p-value is exact: every one of the 2^n sign patterns
up to EXACT_MAX_PAIRS pairs, a seeded random sample of them beyond that (the same runs give the same p).

The interval is the same test turned around: the shifts d such that the differences minus d are not rejected at
2.5% in either tail (equivalently, order statistics of the means of the flipped subsets; Hartigan 1969). So it
excludes 0 exactly when p <= 0.05. With under 6 pairs no shift can be rejected at that level, and there is none.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
EXACT_MAX_PAIRS = 20  # 2^20 sign patterns: about a second and 16 MB
DRAWS = 50_000  # random sign patterns beyond that: p within about 0.001 of the exact one near 0.05
DRAW_SEED = 0


@dataclass(frozen=True)
class SignFlip:
    """The mean of n paired differences, its 95% interval (None with under 6 pairs) and the two-sided p-value."""

    n: int
    mean: float
    low: float | None
    high: float | None
    p: float
    exact: bool  # every sign pattern counted, rather than a random sample of them


def _flipped_subsets(differences: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(sum, size) of the differences each sign pattern flips, and how many patterns the null distribution holds
    (these and the observed one, which flips none)."""
    n = len(differences)
    if n <= EXACT_MAX_PAIRS:
        sums, sizes = np.zeros(1), np.zeros(1, dtype=np.int64)
        for value in differences:  # every subset: those without this pair, then the same with it
            sums, sizes = np.concatenate([sums, sums + value]), np.concatenate([sizes, sizes + 1])
        return sums[1:], sizes[1:], 2 ** n
    flips = np.random.default_rng(DRAW_SEED).random((DRAWS, n)) < 0.5
    return flips @ differences, flips.sum(axis=1), DRAWS + 1


def sign_flip_test(differences: Sequence[float], alpha: float = ALPHA) -> SignFlip:
    """The paired sign-flip test of `differences` (continual minus reinit, one per twin pair) against 0."""
    if not differences:
        raise ValueError("a sign-flip test needs at least one paired difference")
    d = np.asarray(differences, dtype=float)
    sums, sizes, total = _flipped_subsets(d)
    # Flipping subset S moves the sum by -2 * sum(S): the result is at least the observed one when sum(S) <= 0.
    tolerance = 1e-9 * float(np.abs(d).max()) * len(d)  # a flip that ties the observed sum counts, despite rounding
    p_above = (1 + np.count_nonzero(sums <= tolerance)) / total
    p_below = (1 + np.count_nonzero(sums >= -tolerance)) / total
    p = min(1.0, 2 * min(p_above, p_below))
    # A shift c is kept while more than alpha/2 of the patterns reach the observed sum of (d - c): the flips that
    # do are those whose subset mean is <= c (and those flipping nothing); so the bounds are the k-th smallest and
    # k-th largest subset means.
    empty = np.count_nonzero(sizes == 0)
    means = np.sort(sums[sizes > 0] / sizes[sizes > 0])
    room = alpha / 2 * total - 1 - empty
    low = high = None
    if room >= 0:
        k = int(room) + 1
        low, high = float(means[k - 1]), float(means[-k])
    return SignFlip(len(d), statistics.fmean(differences), low, high, float(p), exact=len(d) <= EXACT_MAX_PAIRS)
