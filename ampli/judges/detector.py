"""Did a run amplify its trait? The paper's rule and its alternatives, on a per-cycle score series.

    threshold         any cycle >= 4 scores >= cycle 0 + 15 (the verdict)
    last_minus_first  the last cycle - cycle 0 >= 10
    slope             the least-squares slope over the whole series >= 1.67 a cycle
    prefix_slope      the authors' slope rule: the mean of the least-squares slopes of the prefixes
                      [0..k], k = 1..N, >= 1.67 (early cycles weigh more than in `slope`)
"""

from dataclasses import asdict, dataclass

PRIMARY_RULE = "any cycle >= 4 scores >= cycle 0 + 15"


@dataclass(frozen=True)
class DetectorConfig:
    min_cycle: int = 4
    threshold: float = 15.0
    last_minus_first: float = 10.0
    slope_per_cycle: float = 1.67


def least_squares_slope(ys: list[float]) -> float:
    n = len(ys)
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys)) / var


def mean_prefix_slope(ys: list[float]) -> float:
    """Mean of the least-squares slopes of ys[0..k] for k = 1 .. len(ys) - 1 (0.0 with fewer than two scores)."""
    slopes = [least_squares_slope(ys[: k + 1]) for k in range(1, len(ys))]
    return sum(slopes) / len(slopes) if slopes else 0.0


def detect(scores: list[float | None], cfg: DetectorConfig = DetectorConfig()) -> dict:
    """scores[i] is cycle i's mean trait score. The verdict is the paper's rule; the alternatives are reported.

    A rule needs enough cycles to be decided: with fewer than min_cycle+1 cycles the primary rule reports
    `decided: False` rather than a misleading `amplified: False`.
    """
    if not scores or scores[0] is None:
        return {"amplified": False, "decided": False, "rule": PRIMARY_RULE, "rules": {}, "details": {}}
    first = scores[0]
    late = [(i, s) for i, s in enumerate(scores) if i >= cfg.min_cycle and s is not None]
    threshold_hit = [i for i, s in late if s >= first + cfg.threshold]
    known = [s for s in scores if s is not None]
    slope = least_squares_slope(known) if len(known) >= 2 else 0.0
    prefix_slope = mean_prefix_slope(known)
    rules = {
        "threshold": bool(threshold_hit),
        "last_minus_first": known[-1] - first >= cfg.last_minus_first,
        "slope": slope >= cfg.slope_per_cycle,
        "prefix_slope": prefix_slope >= cfg.slope_per_cycle,
    }
    return {
        "amplified": rules["threshold"],
        "decided": bool(late),
        "rule": PRIMARY_RULE,
        "rules": rules,
        "details": {
            "cycle0": first,
            "max_late": max((s for _, s in late), default=None),
            "first_amplified_cycle": threshold_hit[0] if threshold_hit else None,
            "last_minus_first": known[-1] - first,
            "slope_per_cycle": slope,
            "mean_prefix_slope": prefix_slope,
            "config": asdict(cfg),
        },
    }
