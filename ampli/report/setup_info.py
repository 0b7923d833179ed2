"""What produced a report's numbers: model, judge, data, seeds and ampli version, read from each run's config.yaml
and metrics.json, so a reader knows whether scores came from the offline lexicon judge or an LLM judge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ampli.report.runs import config_get, run_config
from ampli.record.tracking import wandb_location

# The options that name a run's own data; a run with none of them set used the data shipped with ampli.
DATA_KEYS = ("data_dir", "trait.seed_file", "trait.documents_file", "loop.prompts_file", "loop.eval_prompts_file")


def _joined(values: Sequence[str]) -> str:
    unique = sorted({v for v in values if v})
    return ", ".join(unique) if unique else "not recorded"


def model_text(config: Mapping[str, Any]) -> str:
    """`tiny (embedded, built locally)`, `smollm2-135m (HuggingFaceTB/SmolLM2-135M-Instruct)`."""
    name, source = config_get(config, "model.name"), config_get(config, "model.source")
    if not name:
        return ""
    where = {"tiny": "embedded, built locally", "hub": config_get(config, "model.hub_id"),
             "path": config_get(config, "model.path")}.get(source)
    return f"{name} ({where})" if where else str(name)


def judge_text(config: Mapping[str, Any]) -> str:
    """`offline lexicon (lexicon-v2): word counts, not an LLM judge` or `openai: gpt-4.1-mini`."""
    backend, model = config_get(config, "judge.backend"), config_get(config, "judge.model")
    if not backend:
        return ""
    if backend == "offline":
        return f"offline lexicon judge ({model}): counts trait words; its scores are not LLM-judge scores"
    return f"{backend}: {model}"


def data_text(config: Mapping[str, Any]) -> str:
    """Each data file the run was given, or that it used the data shipped with ampli."""
    given = [f"{key}={config_get(config, key)}" for key in DATA_KEYS if config_get(config, key)]
    return "; ".join(given) if given else "the data shipped with ampli (ampli/data)"


def version_text(run: Mapping[str, Any]) -> str:
    info = run.get("ampli") or {}
    if not info:
        return ""
    commit = info.get("commit")
    where = f" at commit {commit[:12]}{' with local edits' if info.get('dirty') else ''}" if commit else ""
    return f"ampli {info.get('version')}{where}"


def run_setup(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(what, values) rows for the report's "what was run": every distinct value over the runs."""
    configs = [run_config(run) for run in runs]
    seeds = sorted({run["seed"] for run in runs})
    traits, regimes = {run["trait"] for run in runs}, sorted({run["regime"] for run in runs})
    return [
        ("runs", f"{len(runs)} ({len(traits)} trait{'s' * (len(traits) != 1)}, "
                 f"regime{'s' * (len(regimes) != 1)} {', '.join(regimes)})"),
        ("model", _joined([model_text(c) for c in configs])),
        ("judge", _joined([judge_text(c) for c in configs])),
        ("data", _joined([data_text(c) for c in configs])),
        ("seeds", ", ".join(map(str, seeds))),
        ("cycles", _joined([str(len(run["cycles"])) for run in runs])),
        ("ampli", _joined([version_text(run) for run in runs])),
        ("W&B", wandb_location([Path(run["run_dir"]) for run in runs]) or "not logged (logger=none)"),
    ]
