"""cluster=* configs and model-size resources, without a scheduler (fast)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ampli.config.schema import register_configs
from ampli.run.cluster import ClusterConfigError, cpus_for, gpus_for, mem_for, register_resolvers

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_configs()
    register_resolvers()


def compose_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=True)


@pytest.mark.parametrize(
    "params_b, gpus, mem, cpus",
    [(0.0, None, 8, 2), (0.0001, None, 8, 2), (1.7, 1, 24, 8), (4.0, 1, 32, 8), (8.0, 1, 48, 8), (32.0, 2, 144, 16)],
)
def test_resources_scale_with_model_size(params_b, gpus, mem, cpus):
    assert (gpus_for(params_b), mem_for(params_b), cpus_for(params_b)) == (gpus, mem, cpus)


def test_explicit_resources_win_and_cpus_follow_explicit_gpus():
    assert gpus_for(8.0, 0) is None  # no --gpus-per-node=0 for sbatch
    assert gpus_for(0.0, 2) == 2
    assert mem_for(8.0, 12) == 12
    assert cpus_for(0.0, None, 2) == 16
    assert cpus_for(8.0, 3) == 3


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gpus_for(-1), "model.params_b=-1"),
        (lambda: gpus_for("big"), "model.params_b='big'"),
        (lambda: gpus_for(1, 1.5), "cluster.gpus_per_node=1.5"),
        (lambda: mem_for(1, 0), "cluster.mem_gb=0"),
        (lambda: cpus_for(1, -2), "cluster.cpus_per_task=-2"),
        (lambda: cpus_for(1, True), "cluster.cpus_per_task=True"),
    ],
)
def test_bad_values_are_named(call, message):
    with pytest.raises(ClusterConfigError, match=message.replace(".", r"\.")):
        call()


def test_local_is_the_default_and_uses_the_basic_launcher():
    cfg = compose_cfg()
    assert cfg.cluster.name == "local"
    assert cfg.hydra.launcher._target_.endswith("BasicLauncher")


def test_submitit_local_sizes_from_the_model():
    cfg = compose_cfg("cluster=submitit_local", "model=micro")
    assert cfg.hydra.launcher._target_.endswith("submitit_launcher.LocalLauncher")
    assert (cfg.hydra.launcher.gpus_per_node, cfg.hydra.launcher.cpus_per_task) == (None, 2)


def test_slurm_defaults_follow_the_model_and_keep_requeue_settings():
    launcher = compose_cfg("cluster=slurm", "model=qwen3-8b").hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.gpus_per_node, launcher.mem_gb, launcher.cpus_per_task) == (1, 48, 8)
    assert launcher.additional_parameters.requeue is True
    assert launcher.max_num_timeout >= 1 and launcher.signal_delay_s > 0
    assert launcher.partition is None and launcher.account is None
    assert "export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK" in launcher.setup


def test_slurm_cluster_keys_are_overridable():
    cfg = compose_cfg(
        "cluster=slurm", "model=micro", "cluster.partition=gpu", "cluster.account=proj", "cluster.qos=high",
        "cluster.timeout_min=30", "cluster.gpus_per_node=2", "cluster.mem_gb=10", "cluster.array_parallelism=5",
        "cluster.exclude='node[1-2]'", "cluster.setup=[module load cuda,echo hi]", "cluster.max_num_timeout=7",
        "cluster.signal_delay_s=60",
    )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    got = {k: OmegaConf.select(cfg, f"hydra.launcher.{k}") for k in launcher if k not in ("submitit_folder", "name")}
    assert got["partition"] == "gpu" and got["account"] == "proj" and got["qos"] == "high"
    assert (got["timeout_min"], got["gpus_per_node"], got["cpus_per_task"], got["mem_gb"]) == (30, 2, 16, 10)
    assert got["array_parallelism"] == 5 and got["exclude"] == "node[1-2]"
    assert list(got["setup"]) == ["module load cuda", "echo hi"]
    assert (got["max_num_timeout"], got["signal_delay_s"]) == (7, 60)


def test_task_config_needs_no_custom_resolver():
    """Jobs resolve cfg.cluster inside SLURM, where launch.py's resolver registration never ran."""
    cfg = compose_cfg("cluster=slurm", "model=qwen3-8b")
    assert "${" not in OmegaConf.to_yaml(cfg.cluster)


def make_dry_run(*args: str) -> str:
    """`make -n` on mk/sweeps.mk alone, with a no-op venv target standing in for the Makefile's."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-s", "-n", "--eval=venv:", "-f", "mk/sweeps.mk", "PY=python", *args],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return next(ln for ln in out.stdout.splitlines() if "launch.py" in ln)


@pytest.mark.parametrize(
    "target, expect",
    [
        ("sweep-sft", ["regime=sft", "experiment=paper_sft", "cluster=slurm", "reinit=true,false"]),
        ("sweep-sdf", ["regime=sdf", "experiment=paper_sdf", "trait=bliss,misalignment,"]),
        ("sweep-dpo", ["regime=dpo", "experiment=paper_dpo", " -m "]),
    ],
)
def test_make_sweep_targets(target, expect):
    line = make_dry_run(target)
    for piece in expect:
        assert piece in line


def test_make_sweep_model_and_cluster_variables():
    assert "model=tiny cluster=local" in make_dry_run("sweep-sdf", "MODEL=tiny", "CLUSTER=local")


@pytest.mark.parametrize("required, returncode, outcome", [(False, 0, "1 skipped"), (True, 1, "1 error")])
def test_the_slurm_tests_skip_without_slurm_unless_they_are_required(tmp_path, required, returncode, outcome):
    """Where no cluster can start (here: no bash on PATH), the SLURM tests skip; under AMPLI_SLURM_TESTS=required
    (CI) they fail, naming why."""
    env = {k: v for k, v in os.environ.items() if k != "AMPLI_SLURM_TESTS"} | {"PATH": str(tmp_path)}
    if required:
        env["AMPLI_SLURM_TESTS"] = "required"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_slurm.py",
                           "-k", "sized_for_its_largest"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == returncode and outcome in done.stdout, done.stdout[-2000:]
    assert ("AMPLI_SLURM_TESTS=required, but bash is needed" in done.stdout) is required


def test_a_slurm_that_cannot_be_reached_is_one_line_with_the_fix(tmp_path, monkeypatch):
    from ampli.run.cluster import slurm_problem

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    slurm_problem.cache_clear()
    assert slurm_problem() == ("cluster=slurm cannot submit from this machine: sbatch, srun, sinfo not found on PATH; "
                               "run the command on a SLURM login node, or run here with cluster=pool (jobs side by "
                               "side) or cluster=local")
    for tool in ("sbatch", "srun", "sinfo"):  # installed, but the controller is down
        script = bin_dir / tool
        script.write_text("#!/bin/sh\necho 'slurm_load_partitions: Unable to contact slurm controller' >&2\nexit 1\n")
        script.chmod(0o755)
    slurm_problem.cache_clear()
    assert slurm_problem() == ("cluster=slurm: the SLURM controller cannot be reached (sinfo: slurm_load_partitions: "
                               "Unable to contact slurm controller); check it with `scontrol ping` and that slurmctld "
                               "runs, or run here with cluster=pool or cluster=local")
    slurm_problem.cache_clear()
    done = subprocess.run([sys.executable, str(ROOT / "launch.py"), "-m", "cluster=slurm", "loop.cycles=1",
                           f"output_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": str(bin_dir)})
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("ampli: error: cluster=slurm: the SLURM controller cannot be reached")
    assert not (tmp_path / "out").exists()
