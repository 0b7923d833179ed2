"""Tidy tables: one row per run x evaluated model, and one verdict row per run."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ampli.report.stats import mean_band
from ampli.record.tracking import flatten
from ampli.judges.verdict import PRIMARY, Rule, first_last, run_verdict, tally

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


def verdict_table(runs: Sequence[Mapping[str, Any]], rule: Rule = PRIMARY) -> pd.DataFrame:
    """Each run's verdict under `rule` (ampli.judges.verdict.run_verdict: amplified True/False, None while pending), with its
    status (running/completed/diverged) and trait path."""
    rows = []
    for run in runs:
        verdict = run_verdict(run, rule)
        cycles = run["cycles"]
        rows.append(
            {
                **_identity(run),
                "status": run.get("status"),
                # judge=offline on a real model (an opt-in): its scores are lexicon word counts
                "lexicon_on_real_model": (run.get("judge") or {}).get("lexicon_on_real_model", False),
                "amplified": verdict.amplified,
                "decided": not verdict.pending,
                "verdict": verdict.text(),
                "rule": rule.describe(),
                "replication_of": run.get("replication_of") or None,
                "n_cycles": len(cycles),
                "base_trait": (run.get("base") or {}).get("trait"),
                "first_trait": verdict.first_trait,
                "last_trait": verdict.last_trait,
                "delta_trait": verdict.delta_trait,
                "last_coherence": first_last(cycles, "coherence")[1],
                "last_em_rate": first_last(cycles, "em_rate")[1],
                "config": config_name(run["run_name"], run["seed"]),
                "run_dir": run["run_dir"],
            }
        )
    return pd.DataFrame(rows).sort_values(list(_SORT[:-1]), kind="stable").reset_index(drop=True)


def configuration_table(verdicts: pd.DataFrame, swept: Sequence[str] = ()) -> pd.DataFrame:
    """One row per configuration (its runs differ only by seed): "amplified in k/N seeds" (ampli.judges.verdict.tally), and
    the mean over seeds of the first and last cycle's scores and of each seed's Δ trait, the last trait with the
    half-width of its 95% interval. The settings a sweep varied (`swept`) come right after the CONFIG_COLUMNS, before
    "seeds" (swept_settings reads them back)."""
    rows = []
    by = [*CONFIG_COLUMNS, *swept]
    for key, runs in verdicts.groupby(by, sort=False, dropna=False):
        count = tally(None if pd.isna(flag) else bool(flag) for flag in runs["amplified"])
        last = runs["last_trait"].dropna().tolist()
        last_mean, last_band = mean_band(last) if last else (None, None)
        rows.append({
            **dict(zip(by, key)),
            "seeds": len(runs),
            "amplified_seeds": count.amplified,
            "decided_seeds": count.decided,
            "pending_seeds": count.pending,
            "amplified_in": count.text("seeds"),
            "n_cycles": int(runs["n_cycles"].max()),
            "base_trait": runs["base_trait"].mean(),
            "first_trait": runs["first_trait"].mean(),
            "last_trait": last_mean,
            "last_trait_ci95": last_band,
            "delta_trait": runs["delta_trait"].mean(),
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
