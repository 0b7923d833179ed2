"""launch.py -m cluster=slurm against a real single-node SLURM (tests/slurm_fixtures.py).

One cluster and one output_dir per session: the micro model is built once and reused by later jobs.
Without slurmdbd, submitit warns "Bypassing sacct error" and relies on its result files; that is expected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes.judge_server import FakeJudgeServer, Reply, judge_overrides, score_by_text

from ampli.config.traits import load_trait
from ampli.judges.remote import PROBE_ITEM
from tests.conftest import find_run
from slurm_fixtures import ROOT, SlurmCluster, slurm_cluster  # noqa: F401  (session fixture)

# One cluster per test process: under pytest-xdist (make test) all of this file's tests go to one worker.
pytestmark = pytest.mark.xdist_group("slurm")

# The smallest real run; cpus/mem kept small so two array tasks share the 2-CPU test node.
SMALL = [
    "model=micro", "loop.cycles=1", "loop.prompts_per_cycle=8", "loop.seed_examples=16", "loop.eval_samples=1",
    "loop.eval_pool_prompts=0", "logger=none", "cluster.cpus_per_task=1", "cluster.mem_gb=2",
]
JOB_TIMEOUT_S = 600  # safety limits only: every wait below ends on an event well before


@pytest.fixture(scope="session")
def out_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("slurm-out")


def launch_cmd(out: Path, name: str, *overrides: str) -> list[str]:
    """A launch.py multirun on this cluster; jobs are named `name` and log under <out>/multirun/<name>."""
    return [
        sys.executable, str(ROOT / "launch.py"), "-m", "cluster=slurm", *SMALL, f"output_dir={out}",
        f"hydra.sweep.dir={out}/multirun/{name}", f"hydra.launcher.name={name}", *overrides,
    ]


def job_logs(out: Path, name: str) -> str:
    """Everything the jobs of one multirun wrote: submitit stdout/stderr (appended across requeues), Hydra logs."""
    files = sorted(p for p in (out / "multirun" / name).rglob("*") if p.suffix in (".out", ".err", ".log"))
    return "\n".join(f"=== {p}\n{p.read_text(errors='replace')}" for p in files)


def manifest(run_dir: Path) -> list[str]:
    path = run_dir / "manifest.json"
    try:
        return json.loads(path.read_text())["completed"] if path.exists() else []
    except json.JSONDecodeError:  # caught mid-write by the polling test
        return []


def _wait_pending(cluster: SlurmCluster, job: str, timeout: float = 90) -> None:
    """Wait until a requeued job's old processes are gone (COMPLETING -> PENDING)."""
    deadline = time.monotonic() + timeout
    while cluster.run("squeue", "-h", "-j", job, "-o", "%T", check=False).strip() != "PENDING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"requeued job {job} did not become PENDING within {timeout:.0f} s")
        time.sleep(0.2)


KEY_ENV = "AMPLI_TEST_SLURM_JUDGE_KEY"


class HeldJudge:
    """A loopback judge that answers the eval questions (and the judge probe) at once and holds every other request
    (the cycle's training samples) until released: a job that reaches cycle_000/judge waits there, certainly still
    running, for as long as the test needs, instead of a loop made long in the hope that it still runs."""

    def __init__(self, trait: str):
        self.eval_questions = load_trait(trait).eval_questions
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, user: str, attempt: int) -> Reply:
        if not any(question in user for question in (*self.eval_questions, PROBE_ITEM.prompt)):
            self.reached.set()
            self.release.wait(timeout=JOB_TIMEOUT_S)
        return score_by_text(user, attempt)


def wait_for(event: threading.Event, what: str, proc: subprocess.Popen, out: Path, name: str) -> None:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not event.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen\n{job_logs(out, name)[-4000:]}")


def interrupt_and_resume(cluster: SlurmCluster, out: Path, name: str, trait: str, interrupt, *overrides: str):
    """Run one job until it waits inside cycle_000/judge, interrupt it there, let Slurm restart it, release the
    judge; return what happened. Each step waits on an event (the judge reached, the old processes gone, the
    job done), with generous safety timeouts."""
    judge = HeldJudge(trait)
    with FakeJudgeServer(judge) as server:
        cmd = launch_cmd(out, name, f"trait={trait}", "reinit=false", *judge_overrides(server, KEY_ENV),
                         f"judge.timeout_s={2 * JOB_TIMEOUT_S}", *overrides)
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**cluster.env, KEY_ENV: "sk-slurm-test"},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            job = cluster.wait_for_job(name, timeout=60)
            wait_for(judge.reached, "the job reaching cycle_000/judge", proc, out, name)
            run = find_run(out / "runs", f"{trait}-sft-continual-micro-s0")
            done_before = manifest(run)
            # cycle 0 trains while the API judge scores its samples: training may be done by now, the judging not
            assert done_before[:2] == ["base/eval", "cycle_000/generate"], done_before
            assert set(done_before[2:]) <= {"cycle_000/train"}, done_before
            interrupt(job)
            _wait_pending(cluster, job)  # the old processes are gone
            judge.release.set()
            # Slurm holds a requeued job for ~2 minutes (Reason=BeginTime); make it eligible now.
            cluster.run("scontrol", "update", f"jobid={job}", "StartTime=now")
            output, _ = proc.communicate(timeout=JOB_TIMEOUT_S)
        finally:
            judge.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    logs = job_logs(out, name)
    assert proc.returncode == 0, f"{output[-4000:]}\n{logs[-4000:]}"
    assert manifest(run)[: len(done_before)] == done_before
    assert sorted(manifest(run)) == sorted(["base/eval", "cycle_000/generate", "cycle_000/judge", "cycle_000/train",
                                            "cycle_000/eval"])
    stage_log = (out / "multirun" / name / "0" / "launch.log").read_text()  # Hydra appends across attempts
    for stage in done_before:
        assert stage_log.count(f"run {stage} ") == 1, f"{stage} ran again after the requeue\n{stage_log[-4000:]}"
        assert f"skip {stage}" in stage_log, f"no 'skip {stage}' after the requeue\n{stage_log[-4000:]}"
    assert "is in use by" not in logs, logs[-4000:]  # the job's own earlier run never blocks it
    assert (run / "metrics.json").exists()
    return logs


def test_requeued_gpu_job_resumes_without_redoing_completed_stages(slurm_cluster: SlurmCluster, out_dir: Path):
    """scontrol requeue mid-loop: the job restarts in the same run dir and skips completed stages.

    It also asks for the faked GPU (gres gpu:1) and runs a setup line, so the GPU request path is exercised.
    """
    name = "ampli-requeue"
    logs = interrupt_and_resume(
        slurm_cluster, out_dir, name, "lucky", lambda job: slurm_cluster.run("scontrol", "requeue", job),
        "cluster.gpus_per_node=1",
        "cluster.setup=['export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK','echo ampli-gpus=$CUDA_VISIBLE_DEVICES']",
    )
    assert "DUE TO JOB REQUEUE" in logs, "the job was not requeued"
    # its killed first run left the run lock behind; the restarted job takes it over as its own
    assert "took over the run lock" in logs and "an earlier run of this SLURM job (restart 0)" in logs, logs[-4000:]
    assert "ampli-gpus=0" in logs, "the job did not get the faked GPU"
    script = next((out_dir / "multirun" / name / ".submitit").rglob("*_submission.sh")).read_text()
    assert "#SBATCH --gpus-per-node=1" in script and "#SBATCH --requeue" in script


def test_preempted_job_is_checkpointed_requeued_and_resumes(slurm_cluster: SlurmCluster, out_dir: Path):
    """Preemption/timeout path: USR2 makes submitit call the launcher's checkpoint() and requeue the same job."""
    logs = interrupt_and_resume(
        slurm_cluster, out_dir, "ampli-preempt", "sycophancy",
        lambda job: slurm_cluster.run("scancel", "--signal=USR2", job),
    )
    assert "Calling checkpoint method" in logs and "Requeued job" in logs, logs[-4000:]


def test_sweep_2x2_is_one_job_array_and_all_runs_finish(slurm_cluster: SlurmCluster, out_dir: Path):
    name = "ampli-sweep"
    start = time.monotonic()
    proc = subprocess.run(launch_cmd(out_dir, name, "trait=bliss,misalignment", "reinit=true,false"), cwd=ROOT,
                          env=slurm_cluster.env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    assert proc.returncode == 0, f"{proc.stderr[-4000:]}\n{job_logs(out_dir, name)[-4000:]}"
    expected = [f"{t}-sft-{r}-micro-s0" for t in ("bliss", "misalignment") for r in ("reinit", "continual")]
    for run in [find_run(out_dir / "runs", stem) for stem in expected]:
        completed = manifest(run)
        assert {"base/eval", "cycle_000/train", "cycle_000/eval"} <= set(completed), (run, completed)
        assert (run / "metrics.json").exists(), run
    # submitit names an array's task folders <array job id>_<task>: one array, four tasks.
    tasks = [p.name for p in (out_dir / "multirun" / name / ".submitit").iterdir() if "_" in p.name and p.is_dir()]
    assert len({t.split("_")[0] for t in tasks}) == 1 and sorted(t.split("_")[1] for t in tasks) == list("0123"), tasks
    print(f"2x2 sweep through SLURM: {time.monotonic() - start:.0f} s")


def test_a_sweep_over_models_is_sized_for_its_largest(slurm_cluster: SlurmCluster, out_dir: Path):
    """One job array, one resource request: with a real model in the sweep every task asks for a GPU, where the
    primary config's model (micro) alone would ask for none. Here the GPU is faked, so the real model's task stops
    with the CPU error (device safety) while the micro task completes."""
    name = "ampli-models"
    cmd = ["model=micro,smollm2-135m" if c == "model=micro" else c for c in launch_cmd(out_dir, name, "trait=bliss")]
    proc = subprocess.run(cmd, cwd=ROOT, env={**slurm_cluster.env, "HF_HUB_OFFLINE": "1"}, capture_output=True,
                          text=True, timeout=JOB_TIMEOUT_S)
    script = next((out_dir / "multirun" / name / ".submitit").rglob("*_submission.sh")).read_text()
    assert "#SBATCH --gpus-per-node=1" in script, script
    logs = job_logs(out_dir, name)
    assert proc.returncode != 0 and "model=smollm2-135m (0.135B parameters) would run on the CPU" in logs, logs[-4000:]
    assert (find_run(out_dir / "runs", "bliss-sft-reinit-micro-s0") / "metrics.json").exists()


def test_a_sweep_over_any_key_is_one_job_array_with_a_directory_per_job(slurm_cluster: SlurmCluster, out_dir: Path):
    """regime.beta x loop.seed_examples x reinit: 8 tasks of one array, each in the directory its overrides name,
    the same names as the local launcher and cluster=pool give (tests/test_sweep_any_key.py)."""
    name = "ampli-any-key"
    cmd = [c for c in launch_cmd(out_dir, name, "trait=bliss", "regime=dpo", "reinit=false,true",
                                 "regime.beta=0.05,0.2", "loop.seed_examples=8,16") if c != "loop.seed_examples=16"]
    proc = subprocess.run(cmd, cwd=ROOT, env=slurm_cluster.env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    assert proc.returncode == 0, f"{proc.stderr[-4000:]}\n{job_logs(out_dir, name)[-4000:]}"
    names = sorted(p.name for p in (out_dir / "runs").glob("bliss-dpo-*"))
    assert names == sorted(f"bliss-dpo-{r}-micro-s0-eval_pool_prompts=0,eval_samples=1,prompts_per_cycle=8,"
                           f"seed_examples={n},beta={b}" for r in ("reinit", "continual") for n in (8, 16)
                           for b in ("0.05", "0.2"))
    assert all(json.loads((out_dir / "runs" / n / "metrics.json").read_text())["status"] == "completed" for n in names)
    tasks = [p.name for p in (out_dir / "multirun" / name / ".submitit").iterdir() if "_" in p.name and p.is_dir()]
    assert len({t.split("_")[0] for t in tasks}) == 1 and len(tasks) == 8, tasks


def test_replications_of_a_flagged_run_are_one_job_array_on_its_cycle_0(slurm_cluster: SlurmCluster,
                                                                        tmp_path_factory):
    """`ampli replicate` on a run made through SLURM relaunches it there: its seeds are the tasks of one array,
    each adopting the original's cycle 0 by hard links (tests/test_replicate.py runs the same locally)."""
    out = tmp_path_factory.mktemp("slurm-replicate")
    cmd = [c for c in launch_cmd(out, "ampli-original", "trait=bliss", "reinit=false", "loop.cycles=2")
           if c != "loop.cycles=1"]
    proc = subprocess.run(cmd, cwd=ROOT, env=slurm_cluster.env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    assert proc.returncode == 0, f"{proc.stderr[-4000:]}\n{job_logs(out, 'ampli-original')[-4000:]}"
    original = find_run(out / "runs", "bliss-sft-continual-micro-s0")

    name = "ampli-replicate"
    start = time.monotonic()
    # every run passes a threshold of -100 from cycle 0 on: the flag is certain at 2 cycles
    proc = subprocess.run([sys.executable, "-m", "ampli.cli", "replicate", str(out / "runs"), "--seeds", "2",
                           "--min-cycle", "0", "--threshold", "-100", f"hydra.sweep.dir={out}/multirun/{name}",
                           f"hydra.launcher.name={name}"],
                          cwd=ROOT, env=slurm_cluster.env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}{proc.stderr[-4000:]}\n{job_logs(out, name)[-4000:]}"
    tasks = [p.name for p in (out / "multirun" / name / ".submitit").iterdir() if "_" in p.name and p.is_dir()]
    assert len({t.split("_")[0] for t in tasks}) == 1 and sorted(t.split("_")[1] for t in tasks) == ["0", "1"], tasks
    replicas = {metrics["seed"]: (path.parent, metrics) for path in (out / "runs").glob("*/metrics.json")
                if (metrics := json.loads(path.read_text())).get("replication_of") == original.name}
    assert sorted(replicas) == [1, 2], replicas
    for replica, metrics in replicas.values():
        assert (metrics["status"], metrics["varies"]["loop.cycle0_from"], len(metrics["cycles"])) == (
            "completed", original.name, 2)
        judged = Path("cycle_000/judgments.jsonl")
        assert (replica / judged).stat().st_ino == (original / judged).stat().st_ino
    print(f"2 replications through SLURM as one array: {time.monotonic() - start:.0f} s")
