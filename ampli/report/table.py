"""Tidy tables: one row per run x evaluated model, and one verdict row per run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ampli.tracking import flatten

RUN_COLUMNS = ("run_name", "sweep", "trait", "regime", "reinit", "model", "seed")
BASE_CYCLE = -1  # the unseeded model's evaluation, before cycle 0
_SORT = ("sweep", "trait", "regime", "reinit", "model", "seed", "run_dir", "cycle")


def _identity(run: Mapping[str, Any]) -> dict[str, Any]:
    return {key: run[key] for key in RUN_COLUMNS}


def runs_table(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Every evaluation of every run (base as cycle -1); nested metrics become columns like seconds_train.

    The cycle's trait score is named trait_score, since `trait` is the trait's name.
    """
    rows = []
    for run in runs:
        evaluations = [{**run["base"], "cycle": BASE_CYCLE}] if run.get("base") else []
        for evaluation in [*evaluations, *run["cycles"]]:
            flat = flatten(evaluation, sep="_")
            flat["trait_score"] = flat.pop("trait", None)
            rows.append({**_identity(run), **flat, "run_dir": run["run_dir"]})
    table = pd.DataFrame(rows)
    first = [*RUN_COLUMNS, "cycle", "trait_score", "coherence"]
    table = table[[c for c in first if c in table] + [c for c in table.columns if c not in first]]
    return table.sort_values([c for c in _SORT if c in table], kind="stable").reset_index(drop=True)


def verdict_table(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The amplification detector's verdict per run, with its status (running/completed/diverged) and trait path."""
    rows = []
    for run in runs:
        amplification = run.get("amplification") or {}
        cycles = run["cycles"]
        rows.append(
            {
                **_identity(run),
                "status": run.get("status"),
                "amplified": amplification.get("amplified"),
                "rule": amplification.get("rule"),
                **{f"rule_{name}": passed for name, passed in (amplification.get("rules") or {}).items()},
                "n_cycles": len(cycles),
                "base_trait": (run.get("base") or {}).get("trait"),
                "first_trait": cycles[0].get("trait") if cycles else None,
                "last_trait": cycles[-1].get("trait") if cycles else None,
                "last_coherence": cycles[-1].get("coherence") if cycles else None,
                "last_em_rate": cycles[-1].get("em_rate") if cycles else None,
                **flatten(amplification.get("details") or {}, sep="_", prefix="detail"),
                "run_dir": run["run_dir"],
            }
        )
    return pd.DataFrame(rows).sort_values(list(_SORT[:-1]), kind="stable").reset_index(drop=True)
