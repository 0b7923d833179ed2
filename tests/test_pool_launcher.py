"""cluster=pool (hydra_plugins/ampli_pool_launcher): a job whose process is killed is named in one line and recorded
in its job's log, and the other jobs of the sweep run to their end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MICRO, ROOT, with_overrides


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
