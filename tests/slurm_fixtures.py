"""A real single-node SLURM cluster for the tests, one per test session (scripts/slurm/cluster.sh).

Import the fixture into a test module (`from slurm_fixtures import slurm_cluster`). Tests skip, with the
reason, only where slurm-wlm/munge are missing and cannot be installed (not root, no apt-get). Under
AMPLI_SLURM_TESTS=required (CI: .ci/run) that is a failure instead, so CI cannot pass them by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SH = ROOT / "scripts" / "slurm" / "cluster.sh"
NOT_INSTALLABLE = 3  # cluster.sh's exit code when the packages are missing and cannot be installed


@dataclass
class SlurmCluster:
    state_dir: Path
    conf: Path
    partition: str

    @property
    def env(self) -> dict[str, str]:
        """The caller's environment pointed at this cluster (sbatch exports it into the jobs)."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True) -> str:
        """Run a SLURM client (squeue, scontrol, ...) against this cluster; return its stdout."""
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def job_ids(self, name: str) -> list[str]:
        """Ids (array tasks as 12_0) of this cluster's queued or running jobs called `name`."""
        return self.run("squeue", "-h", "-r", "-n", name, "-o", "%i").split()

    def wait_for_job(self, name: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = self.job_ids(name)
            if ids:
                return ids[0]
            time.sleep(0.2)
        raise TimeoutError(f"no SLURM job named {name!r} appeared within {timeout:.0f} s")


def unavailable(reason: str) -> NoReturn:
    """Skip the SLURM tests for `reason`, or fail them where they are required (AMPLI_SLURM_TESTS=required)."""
    if os.environ.get("AMPLI_SLURM_TESTS") == "required":
        pytest.fail(f"AMPLI_SLURM_TESTS=required, but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def slurm_cluster():
    """Start a private cluster (own state dir, free ports, faked gpu:1) and stop it by pid at the end."""
    if shutil.which("bash") is None:
        unavailable("bash is needed to run scripts/slurm/cluster.sh")
    if os.geteuid() != 0 and shutil.which("slurmd") is None:
        unavailable("slurm-wlm/munge are not installed and installing them needs root (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        unavailable("slurmd must run as root to launch jobs; run the SLURM tests as root")
    # mkdtemp under /tmp, not pytest's tmp_path: munged (user munge) must be able to reach its socket.
    state_dir = Path(tempfile.mkdtemp(prefix="ampli-slurm-"))
    env = {
        **os.environ,
        "AMPLI_SLURM_CTLD_PORT": str(_free_port()),
        "AMPLI_SLURM_D_PORT": str(_free_port()),
        "AMPLI_SLURM_PARTITION": "debug",
        "AMPLI_SLURM_GPUS": "1",
    }
    start = subprocess.run(["bash", str(CLUSTER_SH), "start", str(state_dir)], env=env, capture_output=True,
                           text=True, timeout=300)
    if start.returncode == NOT_INSTALLABLE:
        unavailable(f"no SLURM: {start.stderr.strip()}")
    if start.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted(state_dir.glob("log/*.log")))
        subprocess.run(["bash", str(CLUSTER_SH), "stop", str(state_dir)], env=env, timeout=120)
        raise RuntimeError(f"cluster.sh start failed ({start.returncode}): {start.stderr}\n{logs}")
    try:
        yield SlurmCluster(state_dir=state_dir, conf=state_dir / "slurm.conf", partition="debug")
    finally:
        subprocess.run(["bash", str(CLUSTER_SH), "stop", str(state_dir)], env=env, timeout=120)
        shutil.rmtree(state_dir, ignore_errors=True)
