"""Finding run directories under a path and reading their metrics.json."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ampli.config.key_table import is_read, row
from ampli.record.run_identity import short_keys, value_text

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
MANIFEST_FILE = "manifest.json"
# Hydra multirun job directories point at their run directory with this file.
RUN_POINTER_FILE = "run_dir.txt"
RUN_KEYS = ("run_name", "trait", "regime", "reinit", "model", "seed", "sweep", "cycles")
# Column names of the report's tables that a varied setting's short name must not take (judge.model is no "model").
TAKEN_COLUMNS = {*RUN_KEYS, "cycle", "config", "status", "run_dir", "trait_score", "coherence"}
# A varied setting's value on a run whose regime does not read it: shown so, never as the default it ignored.
NOT_READ = "-"
# Directories that never contain runs but can be large.
_SKIP_DIRS = {"wandb", ".hydra", ".git", "__pycache__"}


class ReportError(ValueError):
    """The report cannot be built from what is on disk; the message names the path and what was expected."""


def find_run_dirs(path: Path) -> list[Path]:
    """Run directories at or under `path`: a run dir, a directory of runs, or a Hydra multirun dir (run_dir.txt).

    A run directory is one with manifest.json or metrics.json; its subdirectories are cycles, never runs
    (cycle_000/metrics.json exists before the run's own metrics.json does).
    """
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path} is not a directory; give a run directory, a directory of runs or a multirun dir")
    found: set[Path] = set()
    pending: list[str] = []  # runs (or run_dir.txt targets) without metrics.json yet
    for root, dirs, files in os.walk(path):
        here = Path(root)
        if METRICS_FILE in files or MANIFEST_FILE in files:
            if METRICS_FILE in files:
                found.add(here.resolve())
            else:
                pending.append(str(here))
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        if RUN_POINTER_FILE in files:
            target = here / (here / RUN_POINTER_FILE).read_text().strip()  # absolute, or relative to the job dir
            if (target / METRICS_FILE).is_file():
                found.add(target.resolve())
            else:
                pending.append(f"{here / RUN_POINTER_FILE} -> {target}")
    if pending:
        log.warning("skipping runs without %s (not started a cycle, or missing): %s", METRICS_FILE, "; ".join(pending))
    if not found:
        hint = f"; these have no {METRICS_FILE} yet: {'; '.join(pending)}" if pending else ""
        raise ReportError(
            f"no runs found under {path}: looked for {METRICS_FILE} in it and its subdirectories, "
            f"and for Hydra multirun {RUN_POINTER_FILE} files{hint}"
        )
    return sorted(found)


def load_run(run_dir: Path) -> dict[str, Any]:
    """A run's metrics.json, checked for the keys the report needs, with "run_dir" added."""
    metrics_path = Path(run_dir) / METRICS_FILE
    try:
        metrics = json.loads(metrics_path.read_text())
    except json.JSONDecodeError as err:
        raise ReportError(f"{metrics_path} is not valid JSON: {err}") from err
    missing = [key for key in RUN_KEYS if key not in metrics]
    if missing:
        raise ReportError(f"{metrics_path} lacks {', '.join(missing)}; is it an ampli run's metrics.json?")
    return {**metrics, "run_dir": str(Path(run_dir))}


def run_config(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run's resolved config (its config.yaml), {} for a run without one."""
    path = Path(run["run_dir"]) / "config.yaml"
    loaded = yaml.safe_load(path.read_text()) if path.is_file() else None
    return loaded if isinstance(loaded, dict) else {}


def config_get(config: Mapping[str, Any], key: str) -> Any:
    """A dotted key's value in a run_config, None where it has none."""
    value: Any = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _config_value(config: Mapping[str, Any], key: str) -> str:
    """A dotted key's value as a run name shows it; "default" for a config group the run did not override (or a
    run without config.yaml)."""
    value = config_get(config, key)
    return "default" if value is None or isinstance(value, dict) else value_text(value)


def run_reads(run: Mapping[str, Any], config: Mapping[str, Any], key: str) -> bool:
    """Whether a run read the dotted config `key`, as the key table (ampli.config.key_table) says under the run's config (its
    config.yaml; without one, what metrics.json says of it: regime and reinit). The report's one question about which
    keys a run reads."""
    found = row(key)
    return found is None or is_read(found, config or {"regime": {"name": run["regime"]}, "reinit": run["reinit"]})


def add_swept_settings(runs: list[dict[str, Any]]) -> list[str]:
    """The settings the runs differ in beyond trait, regime, reinit, model and seed (what a sweep over any key
    varied, from each run's metrics.json "varies"): sets run["swept"] = {column: value} on every run and returns
    the column names (regime.beta -> beta), in key order. Keys set alike in every run are no column; a key the run's
    regime does not read is NOT_READ on that run (an SFT run beside a DPO beta sweep has no beta)."""
    keys = sorted({key for run in runs for key in run.get("varies") or {}})
    configs = [run_config(run) for run in runs] if keys else []
    values = {key: [NOT_READ if not run_reads(run, config, key)
                    else (run.get("varies") or {}).get(key) or _config_value(config, key)
                    for run, config in zip(runs, configs)] for key in keys}
    keys = [key for key in keys if len(set(values[key])) > 1]
    columns = {key: key if short in TAKEN_COLUMNS else short for key, short in short_keys(keys).items()}
    for i, run in enumerate(runs):
        run["swept"] = {columns[key]: values[key][i] for key in keys}
    return [columns[key] for key in keys]
