"""The paper table's numbers over seeds, for one group of runs at a time (ampli.report.paper_table groups them):

    over_seeds         a configuration's change from cycle 0 to the last cycle (the judge's trait, and the persona
                       projection of runs made with probe=persona), the mean over seeds with its 95% t interval
    twin_contrast      continual minus reinit over twin pairs, with the sign-flip test (ampli.report.sign_flip)

Each run's change is its last scored cycle minus its cycle 0 (for the trait, ampli.judges.verdict's Δ trait). Only runs
with a verdict count: a pending one (ampli.judges.verdict: too few cycles, or still running) is counted apart, so that a
run half-way through never mixes its cycle 2 with its twin's cycle 4.

Seeds are the unit of replication. Over several traits, each seed's runs are first averaged over traits, and the
interval is Student's t over those per-seed means (ampli.report.stats.mean_band); with one seed there is no interval.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from ampli.report.sign_flip import sign_flip_test
from ampli.report.stats import mean_band
from ampli.judges.verdict import first_last, run_verdict

PROJECTION = "persona_projection"  # each evaluation's mean projection on the persona vector (ampli.probe)
# What changes from cycle 0, by column name; the persona columns exist only where some run was probed.
MEASURES = {"d_trait": "Δ trait", "d_projection": "Δ persona projection"}
PERSONA_MEASURES = ("d_projection",)


def run_changes(run: Mapping[str, Any]) -> dict[str, float | None]:
    """A run's change from cycle 0 to its last scored cycle, per measure; None where it has none (no probe, or a
    vector that did not separate)."""
    first, last = first_last(run.get("cycles") or [], PROJECTION)
    return {"d_trait": run_verdict(run).delta_trait,
            "d_projection": last - first if first is not None and last is not None else None}


def settled(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The runs with a verdict (ampli.judges.verdict); the statistics are taken over these only."""
    return [run for run in runs if not run_verdict(run).pending]


def probed(runs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any run has a persona projection change, i.e. whether the persona columns belong in the table."""
    return any(run_changes(run)["d_projection"] is not None for run in runs)


def over_seeds(runs: Sequence[Mapping[str, Any]], measure: str) -> dict[str, float | int | None]:
    """The mean over seeds of the runs' change in `measure` ({measure}), the half-width of its 95% t interval
    ({measure}_ci95; None with one seed) and the number of seeds ({measure}_n). A seed's value is the mean over its
    runs (its traits). Pending runs are left out: pass settled(runs)."""
    by_seed: dict[int, list[float]] = defaultdict(list)
    for run in runs:
        value = run_changes(run)[measure]
        if value is not None:
            by_seed[run["seed"]].append(value)
    per_seed = [statistics.fmean(values) for _, values in sorted(by_seed.items())]
    mean, half = mean_band(per_seed) if per_seed else (None, None)
    return {measure: mean, f"{measure}_ci95": half, f"{measure}_n": len(per_seed)}


def _by_twin_key(runs: Sequence[Mapping[str, Any]], measure: str) -> dict[tuple[str, int], list[float]]:
    found: dict[tuple[str, int], list[float]] = defaultdict(list)
    for run in runs:
        value = run_changes(run)[measure]
        if value is not None:
            found[run["trait"], run["seed"]].append(value)
    return found


def twin_contrast(continual: Sequence[Mapping[str, Any]], reinit: Sequence[Mapping[str, Any]],
                  measure: str) -> dict[str, Any] | None:
    """Continual minus reinit in `measure`'s change from cycle 0, paired by (trait, seed): the number of pairs, the
    mean difference, its 95% interval and the two-sided p of the sign-flip test; `unpaired` counts the runs with a
    value but no single twin (its twin pending, missing, or two runs under one key). None where neither side has a
    value. Pending runs are left out: pass settled(runs)."""
    continual_values, reinit_values = _by_twin_key(continual, measure), _by_twin_key(reinit, measure)
    if not continual_values and not reinit_values:
        return None
    keys = sorted(key for key in continual_values.keys() & reinit_values.keys()
                  if len(continual_values[key]) == len(reinit_values[key]) == 1)
    differences = [continual_values[key][0] - reinit_values[key][0] for key in keys]
    unpaired = sum(map(len, continual_values.values())) + sum(map(len, reinit_values.values())) - 2 * len(keys)
    row: dict[str, Any] = {"measure": measure, "pairs": len(keys), "difference": None, "low": None,
                           "high": None, "p": None, "exact": None, "unpaired": unpaired}
    if differences:
        test = sign_flip_test(differences)
        row |= {"difference": test.mean, "low": test.low, "high": test.high, "p": test.p, "exact": test.exact}
    return row
