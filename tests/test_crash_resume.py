"""A run SIGKILLed in any stage resumes where it stopped and ends with the metrics of an uninterrupted run.

The kill is real and needs no hook in ampli: the child process is launch.py itself, run through a few lines
that watch ampli's log for "start cycle_001/<stage>" and then SIGKILL the process at its next file rename (the
stage's first write: its work is done, a temp file is on disk, nothing is marked complete). Each resume is
killed in the next stage, so one chain of processes covers all four stages, and the final metrics come from
five processes stitched together.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, find_run, with_overrides

STAGES = ["generate", "judge", "train", "eval"]

KILL_IN_STAGE = """
import logging, os, runpy, signal, sys

stage = sys.argv.pop(1)

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def arm(record):
    if record.getMessage() == f"start {stage}":
        os.replace = os.rename = die
    return True

logging.getLogger("ampli").addFilter(arm)
sys.argv[0] = "launch.py"
runpy.run_path("launch.py", run_name="__main__")
"""


def launch(args: list[str], kill_in: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", KILL_IN_STAGE, kill_in, *args] if kill_in else [sys.executable, "launch.py", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stage_lines(output: str, verb: str) -> list[str]:
    """The stages of the console lines `HH:MM:SS [DEBUG: ]<verb> <stage> ...` (start: with logger.verbose=true)."""
    stages = []
    for line in output.splitlines():
        words = line.split("\r")[-1].replace("DEBUG: ", "").split()
        if len(words) > 2 and words[1] == verb:
            stages.append(words[2])
    return stages


def partial_writes(run_dir: Path) -> list[str]:
    return [p.name for p in run_dir.glob("**/.*") if p.name.endswith(".tmp") or p.name.startswith(".checkpoint.")]


def results(summary: dict) -> dict:
    """Everything a run reports except timings."""
    strip = lambda m: {k: v for k, v in m.items() if k != "seconds"}  # noqa: E731
    return {"base": strip(summary["base"]), "cycles": [strip(c) for c in summary["cycles"]],
            "amplification": summary["amplification"], "status": summary["status"]}


@pytest.mark.slow
def test_sigkill_in_every_stage_resumes_to_the_uninterrupted_result(micro_overrides, tmp_path):
    overrides = with_overrides(micro_overrides, f"output_dir={tmp_path / 'killed'}")
    stem = compose_config(overrides).run_name  # the run's name adds MICRO's keys to it (find_run)
    all_stages = ["base/eval"] + [f"cycle_{c:03d}/{s}" for c in (0, 1) for s in STAGES]
    resumes_at = "base/eval"
    for stage in [f"cycle_001/{s}" for s in STAGES]:
        done = launch([*overrides, "logger.verbose=true"], kill_in=stage)
        assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
        run_dir = find_run(tmp_path / "killed" / "runs", stem)
        # the killed process's run lock is taken over by the next one (none before the first kill)
        assert (f"took over the run lock of {run_dir}" in done.stdout) == (stage != "cycle_001/generate")
        started = stage_lines(done.stdout, "start")
        assert started[0] == resumes_at and started[-1] == stage  # no completed stage redone; killed inside `stage`
        assert read_json(run_dir / "manifest.json")["completed"] == all_stages[: all_stages.index(stage)]
        assert partial_writes(run_dir)  # killed mid-write: a temp file or checkpoint dir was never renamed
        resumes_at = stage

    done = launch(overrides)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "took over the run lock" in done.stdout and "its process is gone" in done.stdout
    assert stage_lines(done.stdout, "run") == ["cycle_001/eval"]
    assert read_json(run_dir / "manifest.json")["completed"] == all_stages
    assert partial_writes(run_dir) == []  # the resume cleared what the killed processes left

    uninterrupted = Run(compose_config(with_overrides(micro_overrides, f"output_dir={tmp_path / 'clean'}"))).run()
    assert results(read_json(run_dir / "metrics.json")) == results(uninterrupted)
