"""Tidy tables: one row per run x evaluated model, and one verdict row per run."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ampli.report.stats import mean_band
from ampli.tracking import flatten

RUN_COLUMNS = ("run_name", "sweep", "trait", "regime", "reinit", "model", "seed")
BASE_CYCLE = -1  # the unseeded model's evaluation, before cycle 0
_SORT = ("sweep", "trait", "regime", "reinit", "model", "seed", "run_dir", "cycle")


# What makes runs seeds of one configuration: everything they share once the seed is set aside.
CONFIG_COLUMNS = ("sweep", "config", "trait", "regime", "reinit", "model")


def config_name(run_name: str, seed: int) -> str:
    """A run's configuration: its name without the seed part (bliss-sft-reinit-tiny-s3-n8 -> bliss-sft-reinit-tiny-n8),
    so seeds of one setting group together and settings that differ in anything else (N, beta, ...) do not."""
    return re.sub(rf"(^|[-_])s{seed}(?=$|[-_])", "", run_name, count=1).strip("-_") or run_name


def _identity(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run's identity columns, then the settings a sweep varied (ampli.report.runs.add_swept_settings)."""
    return {**{key: run[key] for key in RUN_COLUMNS}, **run.get("swept", {})}



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
            rows.append({**_identity(run), **flat, "config": config_name(run["run_name"], run["seed"]),
                         "run_dir": run["run_dir"]})
    table = pd.DataFrame(rows)
    first = [*RUN_COLUMNS, *(runs[0].get("swept", {}) if runs else ()), "cycle", "trait_score", "coherence"]
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
                # judge=offline on a real model (an opt-in): its scores are lexicon word counts
                "lexicon_on_real_model": (run.get("judge") or {}).get("lexicon_on_real_model", False),
                "amplified": amplification.get("amplified"),
                "decided": amplification.get("decided", bool(amplification)),
                "rule": amplification.get("rule"),
                **{f"rule_{name}": passed for name, passed in (amplification.get("rules") or {}).items()},
                "n_cycles": len(cycles),
                "base_trait": (run.get("base") or {}).get("trait"),
                "first_trait": cycles[0].get("trait") if cycles else None,
                "last_trait": cycles[-1].get("trait") if cycles else None,
                "last_coherence": cycles[-1].get("coherence") if cycles else None,
                "last_em_rate": cycles[-1].get("em_rate") if cycles else None,
                **flatten(amplification.get("details") or {}, sep="_", prefix="detail"),
                "config": config_name(run["run_name"], run["seed"]),
                "run_dir": run["run_dir"],
            }
        )
    return pd.DataFrame(rows).sort_values(list(_SORT[:-1]), kind="stable").reset_index(drop=True)


def seeds_verdict(amplified: int, seeds: int, pending: int) -> str:
    """The paper's summary of a re-run configuration: in how many of its seeds the trait amplified."""
    return f"{amplified}/{seeds} seeds" + (f" ({pending} pending)" if pending else "")


def configuration_table(verdicts: pd.DataFrame, swept: Sequence[str] = ()) -> pd.DataFrame:
    """One row per configuration (its runs differ only by seed): "amplified in k/N seeds", and the mean over seeds
    of the first and last cycle's scores, the last trait with the half-width of its 95% interval. The settings a
    sweep varied (`swept`) come right after the CONFIG_COLUMNS, before "seeds" (swept_settings reads them back)."""
    rows = []
    by = [*CONFIG_COLUMNS, *swept]
    for key, runs in verdicts.groupby(by, sort=False, dropna=False):
        has_verdict = runs["amplified"].notna() & runs["decided"].fillna(False).astype(bool)
        amplified = int((runs["amplified"][has_verdict] == True).sum())  # noqa: E712
        pending = int((~has_verdict).sum())
        last = runs["last_trait"].dropna().tolist()
        last_mean, last_band = mean_band(last) if last else (None, None)
        rows.append({
            **dict(zip(by, key)),
            "seeds": len(runs),
            "amplified_seeds": amplified,
            "pending_seeds": pending,
            "amplified_in": seeds_verdict(amplified, len(runs), pending),
            "n_cycles": int(runs["n_cycles"].max()),
            "base_trait": runs["base_trait"].mean(),
            "first_trait": runs["first_trait"].mean(),
            "last_trait": last_mean,
            "last_trait_ci95": last_band,
            "last_coherence": runs["last_coherence"].mean(),
            "last_em_rate": runs["last_em_rate"].mean(),
            "seed_list": ",".join(str(s) for s in sorted(runs["seed"])),
            "statuses": ", ".join(f"{n} {status}" for status, n in runs["status"].value_counts().items()),
        })
    return pd.DataFrame(rows)


def swept_settings(configurations: pd.DataFrame) -> list[str]:
    """The varied-setting columns of a configuration table (as read back from configurations.csv)."""
    columns = list(configurations.columns)
    return columns[len(CONFIG_COLUMNS): columns.index("seeds")]


def settings_order(values: Sequence[Any]) -> tuple[tuple[int, float | str], ...]:
    """A sort key for the values of varied settings: numbers in numeric order (seed_examples 8 before 16), then text."""
    keys = []
    for value in values:
        try:
            keys.append((0, float(value)))
        except (TypeError, ValueError):
            keys.append((1, str(value)))
    return tuple(keys)
