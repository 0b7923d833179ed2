"""Jobs of a Hydra sweep that produced no run to report on, and why: a report (and the sweep's summary) must list
them, or a sweep where one of two jobs failed reads like a sweep of one configuration.

A job directory is one with a .hydra/ folder; it failed when its run_dir.txt is missing (the run never started) or
points at a run without metrics.json (it stopped before its first evaluation). The reason is the last error record
of the job's log (launch.py writes one for every error), else its last line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ampli.report.runs import METRICS_FILE, RUN_POINTER_FILE

_ERROR_RECORD = re.compile(r"\]\[(?:ERROR|CRITICAL)\] - (.*)")
NO_REASON = "no error in its log (killed, or still running?)"


@dataclass(frozen=True)
class FailedJob:
    job_dir: Path
    overrides: str  # the job's command-line overrides, space-separated
    error: str


def _overrides(job_dir: Path) -> str:
    path = job_dir / ".hydra" / "overrides.yaml"
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return ""
    return " ".join(map(str, loaded)) if isinstance(loaded, list) else ""


def job_error(job_dir: Path) -> str:
    """The last error record in the job's *.log files, else their last non-empty line, else NO_REASON."""
    last_line = ""
    for log in sorted(job_dir.glob("*.log")):
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        errors = [m.group(1) for line in lines if (m := _ERROR_RECORD.search(line))]
        if errors:
            return errors[-1]
        last_line = lines[-1] if lines else last_line
    return last_line or NO_REASON


def _has_run(job_dir: Path) -> bool:
    pointer = job_dir / RUN_POINTER_FILE
    if not pointer.is_file():
        return False
    return (job_dir / pointer.read_text().strip() / METRICS_FILE).is_file()


def failed_jobs(path: Path) -> list[FailedJob]:
    """Every Hydra job directory at or under `path` whose run has no metrics.json, with its overrides and error."""
    failed = []
    for root, dirs, _ in os.walk(path):
        here = Path(root)
        if ".hydra" in dirs:
            if not _has_run(here):
                failed.append(FailedJob(here, _overrides(here), job_error(here)))
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if d not in {"runs", "report", "wandb", ".git"})
    return sorted(failed, key=_job_order)


def _job_order(job: FailedJob) -> tuple[str, int, str]:
    """Sweep by sweep, jobs by number (2 before 10)."""
    name = job.job_dir.name
    return str(job.job_dir.parent), int(name) if name.isdigit() else -1, name
