"""A few of the answers behind the numbers: per run and cycle, the held-out answers the judge scored highest and
lowest for the trait (from the cycle's eval.jsonl), so a reader sees what a score of 80 looks like."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_RUNS = 12  # the page stays readable; every answer is in the runs' eval.jsonl files
MAX_CHARS = 400


@dataclass(frozen=True)
class Sample:
    run_name: str
    cycle: int
    which: str  # "highest" or "lowest" trait score of the cycle
    prompt: str
    response: str
    trait: float
    coherence: float | None


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a run being written: its last line may be cut
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _short(text: Any) -> str:
    text = str(text or "")
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS].rstrip() + " …"


def cycle_samples(run_name: str, cycle: int, rows: list[dict[str, Any]]) -> list[Sample]:
    """The highest- and lowest-trait answer of one cycle's eval (one sample if they are the same answer); answers the
    judge could not score are left out."""
    rows = [row for row in rows if isinstance(row.get("trait"), (int, float))]
    if not rows:
        return []
    ranked = sorted(rows, key=lambda row: row["trait"])
    picks = [("highest", ranked[-1])] + ([("lowest", ranked[0])] if len(ranked) > 1 else [])
    return [Sample(run_name, cycle, which, _short(row.get("prompt")), _short(row.get("response")),
                   float(row["trait"]), row.get("coherence")) for which, row in picks]


def run_samples(runs: Sequence[Mapping[str, Any]], max_runs: int = MAX_RUNS) -> dict[str, list[Sample]]:
    """run name -> its samples, cycle by cycle, for the first `max_runs` runs (one seed of each configuration first)."""
    by_seed = sorted(runs, key=lambda run: (run["seed"], run["run_name"]))
    found: dict[str, list[Sample]] = {}
    for run in by_seed[:max_runs]:
        samples = []
        for cycle in run["cycles"]:
            number = cycle.get("cycle")
            path = Path(run["run_dir"]) / f"cycle_{number:03d}" / "eval.jsonl"
            samples += cycle_samples(run["run_name"], number, _rows(path))
        if samples:
            found[run["run_name"]] = samples
    return found
