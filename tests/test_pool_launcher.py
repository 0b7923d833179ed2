"""cluster=pool (hydra_plugins/ampli_pool_launcher): a job whose process is killed is named in one line and recorded
in its job's log, and the other jobs of the sweep run to their end; a worker that is killed ends the sweep in one line,
with no job left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import MICRO, ROOT, with_overrides
from tests.leaks import still_running


def wait_for(path_glob: str, root: Path, timeout_s: float = 300) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(root.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"nothing matched {root}/{path_glob} within {timeout_s} s")


@pytest.mark.slow
def test_kill_9_of_one_job_leaves_the_other_to_finish(micro_overrides):
    out = Path(next(o.split("=", 1)[1] for o in micro_overrides if o.startswith("output_dir=")))
    overrides = with_overrides(micro_overrides, "loop.cycles=3", "trait=bliss,lucky", "cluster=pool",
                               "cluster.n_jobs=2")
    sweep = subprocess.Popen([sys.executable, "launch.py", "-m", *overrides], cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        lock = wait_for("runs/bliss-*/run.lock", out)  # the bliss job is running: its process holds the lock
        os.kill(json.loads(lock.read_text())["pid"], signal.SIGKILL)
        output, _ = sweep.communicate(timeout=600)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode != 0  # the sweep ends in the dead job's error, as for any failed job
    assert "Traceback" not in output  # in its one line, not a traceback of the launcher
    death = [line for line in output.splitlines() if line.startswith("ampli: job #")]
    assert len(death) == 1 and "trait=bliss" in death[0], output[-3000:]
    assert death[0].endswith("killed by signal 9 (SIGKILL); the other jobs go on")
    (lucky,) = out.glob("runs/lucky-*/metrics.json")
    metrics = json.loads(lucky.read_text())
    assert metrics["status"] == "completed" and len(metrics["cycles"]) == 3
    assert "the job's process was killed by signal 9 (SIGKILL)" in output  # the summary's failed-jobs line


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="a job stops with its worker through Linux's PR_SET_PDEATHSIG")
def test_kill_9_of_a_worker_stops_every_job_and_the_same_command_resumes_them(micro_overrides):
    """The worker (the job process's parent), not the job: the pool is broken, so the sweep ends, in one line, and no
    job outlives its worker (nothing keeps running after the sweep); the same command then finishes both runs."""
    out = Path(next(o.split("=", 1)[1] for o in micro_overrides if o.startswith("output_dir=")))
    overrides = with_overrides(micro_overrides, "loop.cycles=3", "trait=bliss,lucky", "cluster=pool",
                               "cluster.n_jobs=2")
    command = [sys.executable, "launch.py", "-m", *overrides]
    sweep = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env={**os.environ})
    try:
        lock = wait_for("runs/bliss-*/run.lock", out)
        job = psutil.Process(json.loads(lock.read_text())["pid"])
        worker = job.parent()
        assert worker.pid != sweep.pid  # the job runs in a child of a pool worker, not in the sweep's process
        jobs = [child for each in psutil.Process(sweep.pid).children() for child in each.children()]
        worker.kill()
        output, _ = sweep.communicate(timeout=600)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode != 0 and "Traceback" not in output, output[-3000:]
    assert ("a worker process of the pool ended (SIGKILL(-9)), not a job's own process, so the pool stopped, and "
            "every job stopped with its worker") in output
    assert job in jobs and not any(still_running(process) for process in jobs)
    assert all(json.loads(m.read_text())["status"] != "completed" for m in out.glob("runs/*/metrics.json"))

    again = subprocess.run(command, cwd=ROOT, text=True, capture_output=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    finished = [json.loads(m.read_text()) for m in out.glob("runs/*/metrics.json")]
    assert [(m["status"], len(m["cycles"])) for m in finished] == [("completed", 3)] * 2
