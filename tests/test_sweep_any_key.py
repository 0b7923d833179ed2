"""A sweep over any key (not only trait/regime/reinit/model/seed): each job gets its own run directory named by what
it varies, a rerun resumes every job in its own directory, and the report, the summary and the paper's table show
the varied keys as columns."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from ampli.record.run_identity import JobInfo, RunIdentity, name_with_settings, run_identity, run_root, varied_settings
from ampli.record.store import write_json
from ampli.report.paper_table import main as paper_table_main
from tests.conftest import MICRO, ROOT, compose_config, with_overrides
from tests.test_tracking import _read_run

STEM = "bliss-sft-reinit-tiny-s0"


def identity(*overrides: str) -> RunIdentity:
    return run_identity(compose_config(list(overrides)), JobInfo(overrides=overrides))


def test_the_name_adds_every_override_that_changes_results_sorted_and_by_its_short_key():
    assert identity().name == STEM
    assert identity("trait=bliss", "regime=sft", "reinit=true", "seed=0", "model=tiny").name == STEM
    # not in the name: what only changes how a run is executed or reported, and loop.cycles (it extends a run)
    assert identity("logger=none", "cluster=pool", "device=cpu", "loop.cycles=9", "sweep=x", "output_dir=/o",
                    "judge.max_cost_usd=3", "generation.gpu_memory_utilization=0.5", "logger.verbose=true").name == STEM
    # in it: the value as configured (1e-4 and 0.0001 are one setting), keys sorted whatever the command-line order
    a = identity("regime.learning_rate=1e-4", "loop.seed_examples=32")
    b = identity("loop.seed_examples=32", "regime.learning_rate=0.0001")
    assert a.name == b.name == f"{STEM}-seed_examples=32,learning_rate=0.0001"
    assert a.varies == {"loop.seed_examples": "32", "regime.learning_rate": "0.0001"}
    assert identity("regime.learning_rate=3e-5").name == f"{STEM}-learning_rate=3e-5"
    # two keys with one last part are named in full; a config group by its option
    assert identity("judge=openai", "loop.temperature=1.0", "judge.temperature=0.5").name == (
        f"{STEM}-judge=openai,judge.temperature=0.5,loop.temperature=1")
    assert identity("judge=openai").name == f"{STEM}-judge=openai"
    # values that differ in their second significant digit are two settings
    assert identity("regime.learning_rate=1.5e-4").name == f"{STEM}-learning_rate=0.00015" != identity(
        "regime.learning_rate=1e-4").name
    assert identity("regime.learning_rate=1.25e-4").name == f"{STEM}-learning_rate=0.000125"
    # not in the name: a key the run does not read (a default set anyway: the start checks refuse any other value)
    assert identity("regime.beta=0.1", "judge.temperature=0.0").name == STEM
    assert identity("loop.coherence_filter.min=null", "experiment=debug").name == (
        "bliss-sft-reinit-micro-s0-experiment=debug,min=null")  # debug runs the micro model
    # a group's key is written with its group: judge.model is not the trained model
    assert identity("judge.model=gpt-4o", "judge=openai").name == f"{STEM}-judge=openai,judge.model=gpt-4o"


def test_a_deletion_override_names_the_run_too():
    varies = varied_settings(compose_config(["regime=dpo"]), ["regime=dpo", "~regime.loss_weights"])
    assert varies == {"regime.loss_weights": "~"}
    assert name_with_settings(STEM, varies).startswith(f"{STEM}-loss_weights=_-h")  # "~" is no file-name character


def test_unsafe_or_long_names_end_in_a_hash_and_stay_unique():
    path_a = identity("loop.prompts_file=/data/pool a.jsonl")
    path_b = identity("loop.prompts_file=/data/pool_a.jsonl")
    assert "/" not in path_a.name and " " not in path_a.name and path_a.name.startswith(f"{STEM}-prompts_file=_data_pool")
    assert path_a.name != path_b.name and path_a.name[-10:-8] == "-h"
    long = name_with_settings(STEM, {f"loop.key_{i}": "x" * 20 for i in range(12)})
    assert len(long) == 200 and long.startswith(f"{STEM}-key_0=") and long[-10:-8] == "-h"
    assert long != name_with_settings(STEM, {f"loop.key_{i}": "x" * 20 for i in range(13)})


def test_an_explicit_run_name_wins():
    pinned = identity("run_name=mine", "regime=dpo", "regime.beta=0.2")
    assert pinned.name == "mine" and pinned.pinned and pinned.varies == {"regime.beta": "0.2"}


def test_a_run_made_before_names_carried_settings_keeps_resuming(tmp_path):
    runs = tmp_path / "runs"
    ident = RunIdentity(name=f"{STEM}-beta=0.2", stem=STEM, varies={"regime.beta": "0.2"})
    assert run_root(runs, ident, ("fp",)) == runs / ident.name  # nothing there yet
    write_json(runs / STEM / "manifest.json", {"fingerprint": "fp", "completed": ["base/eval"]})
    assert run_root(runs, ident, ("fp",)) == runs / STEM  # the old directory holds this very configuration
    assert run_root(runs, ident, ("new", "fp")) == runs / STEM  # ... under the fingerprint an older ampli wrote
    assert run_root(runs, ident, ("other",)) == runs / ident.name  # it holds another one: never reused
    write_json(runs / ident.name / "manifest.json", {"fingerprint": "fp", "completed": []})
    assert run_root(runs, ident, ("fp",)) == runs / ident.name  # once the new one exists, it is the run


def test_a_typo_in_a_swept_key_fails_at_once_naming_it_and_the_valid_keys(tmp_path):
    done = subprocess.run([sys.executable, "launch.py", "-m", "regime.betaa=0.05,0.2", f"output_dir={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith("ampli: error: regime.betaa is not a config key: regime has no key 'betaa' (did you "
                                  "mean beta?); valid keys under regime: adam_beta2, adam_eps, allow_truncation, batch_size, beta,")
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # no job ran, nothing written


def launch(out: Path, *overrides: str, env: dict | None = None) -> subprocess.CompletedProcess:
    args = with_overrides(MICRO, "loop.cycles=1", f"output_dir={out}", *overrides)
    done = subprocess.run([sys.executable, "launch.py", "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def stage_lines(done: subprocess.CompletedProcess, verb: str) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if f" {verb} base/" in line
            or f" {verb} cycle_" in line]


@pytest.mark.slow
def test_a_learning_rate_sweep_gets_a_directory_per_job_and_a_rerun_skips_every_stage(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "WANDB_MODE": "offline", "HOME": str(tmp_path / "home")}
    sweep = ("trait=bliss", "regime=sft", "regime.learning_rate=1e-4,3e-4", "logger=wandb",
             f"hydra.sweep.dir={tmp_path / 'sweep'}")
    first = launch(out, *sweep, env=env)
    names = sorted(p.name for p in (out / "runs").iterdir())
    assert names == [f"bliss-sft-reinit-micro-s0-eval_pool_prompts=2,eval_samples=1,prompts_per_cycle=8,"
                     f"seed_examples=16,learning_rate={lr},samples_per_cycle=8" for lr in ("0.0001", "0.0003")]
    for name, lr in zip(names, ("0.0001", "0.0003")):
        metrics = json.loads((out / "runs" / name / "metrics.json").read_text())
        assert metrics["status"] == "completed" and len(metrics["cycles"]) == 1
        assert f"regime.learning_rate={lr}" in metrics["overrides"] and "model=micro" in metrics["overrides"]
        assert metrics["varies"]["regime.learning_rate"] == lr and "loop.cycles" not in metrics["varies"]
    assert len(stage_lines(first, "run")) == 2 * 5  # base/eval + 4 stages of cycle 0, per job
    summary = first.stdout[first.stdout.index("sweep default"):]
    assert "learning_rate" in summary and "0.0001" in summary and "0.0003" in summary

    # W&B: the overrides in each run's config, its readable name, and one group for the sweep
    runs = [_read_run(p) for p in sorted((out / "runs").glob("*/wandb/offline-run-*/*.wandb"))]
    assert sorted(r["run"].display_name for r in runs) == names
    assert len({r["run"].run_group for r in runs}) == 1 and runs[0]["run"].run_group.startswith("multirun-")
    assert {r["config"]["varies"]["regime.learning_rate"] for r in runs} == {"0.0001", "0.0003"}

    again = launch(out, *sweep, env=env)
    assert stage_lines(again, "run") == [] and len(stage_lines(again, "skip")) == 2 * 5
    assert sorted(p.name for p in (out / "runs").iterdir()) == names


def two_by_two(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return launch(out, "trait=bliss", "regime=dpo", "reinit=false,true", "regime.beta=0.05,0.2",
                  "loop.seed_examples=8,16", "logger=none", f"hydra.sweep.dir={out / 'sweep'}", *extra)


@pytest.mark.slow
def test_a_2x2_dpo_sweep_side_by_side_finishes_every_job_and_reports_the_swept_keys(tmp_path):
    """cluster=pool runs the jobs side by side; the same command on the local launcher then finds every run in the
    same directory and skips every stage; a reinit run there adopts cycle 0 of its continual twin."""
    out = tmp_path / "out"
    first = two_by_two(out, "cluster=pool")
    runs = {p.name: json.loads((p / "metrics.json").read_text()) for p in (out / "runs").iterdir()}
    assert all(name.startswith("bliss-dpo-") and "beta=" in name and "seed_examples=" in name for name in runs)
    assert len(runs) == 8 and all(m["status"] == "completed" for m in runs.values())
    combos = {(m["reinit"], m["varies"]["regime.beta"], m["varies"]["loop.seed_examples"]) for m in runs.values()}
    assert combos == {(r, b, n) for r in (True, False) for b in ("0.05", "0.2") for n in ("8", "16")}
    for name, metrics in runs.items():
        config = OmegaConf.load(out / "runs" / name / "config.yaml")
        assert f"beta={metrics['varies']['regime.beta']}" in name and config.regime.beta == float(
            metrics["varies"]["regime.beta"])
        assert config.loop.seed_examples == int(metrics["varies"]["loop.seed_examples"])

    summary = first.stdout[first.stdout.index("sweep default"):]
    header = next(line for line in summary.splitlines() if "trait" in line)
    assert "seed_examples" in header and "beta" in header and "dpo reinit" in header and "dpo continual" in header
    report = out / "sweep" / "report"
    configurations = pd.read_csv(report / "configurations.csv")
    assert {"beta", "seed_examples"} <= set(configurations.columns) and len(configurations) == 8
    verdicts = pd.read_csv(report / "verdicts.csv")
    assert sorted(zip(verdicts["beta"], verdicts["seed_examples"])) == sorted(
        [(b, n) for b in (0.05, 0.2) for n in (8, 16)] * 2)
    page = (report / "report.html").read_text()
    assert "<th>beta</th>" in page and "<th>seed_examples</th>" in page

    assert paper_table_main(["paper-table", str(out / "runs")][1:]) == 0
    table = pd.read_csv(out / "runs" / "report" / "paper_table.csv")
    assert list(table.columns[:5]) == ["model", "regime", "runs", "seed_examples", "beta"] and len(table) == 8
    assert list(table["seed_examples"][:4]) == [8, 8, 16, 16]  # numbers in numeric order
    assert set(table["amplified"]) == {"0/0 (+1 pending)"}  # one cycle: too few for a verdict

    (out / "sweep").rename(tmp_path / "first-sweep")
    again = two_by_two(out)  # local launcher, one job after another
    assert stage_lines(again, "run") == [] and len(stage_lines(again, "skip")) == 8 * 5
    assert sorted(p.name for p in (out / "runs").iterdir() if p.name != "report") == sorted(runs)

    # the local launcher runs the continual jobs first: a reinit twin adopts their base eval and cycle 0
    fresh = tmp_path / "fresh"
    two_by_two(fresh, "loop.seed_examples=8")
    stats = {p.name: json.loads((p / "cycle_000" / "stats.json").read_text()) for p in (fresh / "runs").iterdir()}
    assert all(s.get("adopted_from", "").startswith("bliss-dpo-continual") for name, s in stats.items()
               if "-reinit-" in name), stats
