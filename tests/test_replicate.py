"""`ampli replicate`: which runs it flags, what it launches, the replication mechanism (loop.cycle0_from), resume, and
the report's replication section, end to end on the micro model."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fixtures_runs import write_multirun, write_run
from omegaconf import OmegaConf

from ampli.config.schema import ConfigError
from ampli.judges.detector import DetectorConfig
from ampli.judges.verdict import Rule
from ampli.record.run_identity import JobInfo, result_inputs, run_identity
from ampli.record.shared_stages import cycle0_donor
from ampli.record.store import write_json
from ampli.report import build_report
from ampli.report.replicate import flagged_runs, launch_overrides, plan, replication_seeds
from ampli.report.stats import wilson_interval
from tests.conftest import MICRO, ROOT, compose_config, find_run, with_overrides

CYCLE0 = "loop.cycle0_from"


def fake_run(tmp_path: Path, name: str, traits: list[float], seed: int = 0, **extra) -> dict:
    return {"run_name": name, "run_dir": str(tmp_path / "runs" / name), "trait": "bliss", "regime": "dpo",
            "reinit": False, "model": "tiny", "seed": seed, "status": "completed", "varies": {},
            "overrides": [f"seed={seed}", "regime=dpo", "cluster=pool", "cluster.n_jobs=2", "output_dir=rel/out"],
            "cycles": [{"cycle": i, "trait": t} for i, t in enumerate(traits)], **extra}


def test_the_paper_rule_flags_by_default_and_a_rule_or_threshold_can_be_chosen(tmp_path):
    climbs = fake_run(tmp_path, "climbs", [10, 12, 14, 20, 30])  # cycle 4 at cycle 0 + 20
    flat = fake_run(tmp_path, "flat", [10, 12, 14, 16, 18])  # +8: a slope of 2 a cycle, no threshold
    short = fake_run(tmp_path, "short", [10, 40, 50])  # too few cycles for the rule to decide
    copy = fake_run(tmp_path, "copy", [10, 12, 14, 20, 30], seed=1, replication_of="climbs")
    runs = [climbs, flat, short, copy]
    names = lambda rule, cfg=DetectorConfig(): [r["run_name"] for r in flagged_runs(runs, Rule(rule, cfg), False)]  # noqa: E731
    assert names("threshold") == ["climbs"]  # a replication is never replicated itself
    assert names("slope") == ["climbs", "flat"]
    assert names("threshold", DetectorConfig(threshold=5)) == ["climbs", "flat"]
    assert names("threshold", DetectorConfig(min_cycle=1)) == ["climbs", "short"]
    # with --fresh-cycle0, runs that differ only by their seed are one configuration, replicated from one of them
    other_seed = fake_run(tmp_path, "climbs-s3", [10, 12, 14, 20, 30], seed=3)
    assert [r["run_name"] for r in flagged_runs([other_seed, climbs], Rule(), True)] == ["climbs"]
    assert len(flagged_runs([other_seed, climbs], Rule(), False)) == 2


def test_seeds_skip_the_originals_own():
    assert replication_seeds(3, 0) == [1, 2, 3]
    assert replication_seeds(3, 2) == [1, 3, 4]
    assert replication_seeds(20, 42) == list(range(1, 21))


def test_the_launch_keeps_every_override_but_the_seed_and_names_the_original(tmp_path):
    original = fake_run(tmp_path, "bliss-dpo-continual-tiny-s0-beta=0.05,seed_examples=32", [0] * 5)
    overrides = launch_overrides(original, fresh_cycle0=False, extra=[])
    name = "'bliss-dpo-continual-tiny-s0-beta=0.05,seed_examples=32'"  # quoted: Hydra would split it on the comma
    sweep_dir = f"hydra.sweep.dir='{tmp_path}/multirun/replicate-{name[1:-1]}/${{now:%Y-%m-%d_%H-%M-%S}}'"
    assert overrides == ["regime=dpo", "cluster=pool", "cluster.n_jobs=2", f"output_dir='{tmp_path}'",
                         f"replication_of={name}", sweep_dir, f"{CYCLE0}={name}"]
    # --fresh-cycle0 trains its own cycle 0; another launcher replaces the original's, with its settings
    fresh = launch_overrides(original, fresh_cycle0=True,
                             extra=["cluster=slurm", "cluster.partition=gpu", "hydra.sweep.dir=/x"])
    assert fresh == ["regime=dpo", "cluster=slurm", "cluster.partition=gpu", "hydra.sweep.dir=/x",
                     f"output_dir='{tmp_path}'", f"replication_of={name}"]


def test_finished_replications_are_not_launched_again(tmp_path):
    original = fake_run(tmp_path, "orig", [10, 12, 14, 20, 30])
    done = fake_run(tmp_path, "r1", [0] * 5, seed=1, replication_of="orig", varies={CYCLE0: "orig"})
    running = fake_run(tmp_path, "r2", [0] * 2, seed=2, replication_of="orig", varies={CYCLE0: "orig"},
                       status="running")
    fresh = fake_run(tmp_path, "r3", [0] * 5, seed=3, replication_of="orig")
    [p] = plan([original, done, running, fresh], 3, False, Rule(), [])
    assert (p.seeds, p.finished) == ((2, 3), (1,))  # a fresh-cycle-0 replication is another kind
    [p] = plan([original, done, running, fresh], 3, True, Rule(), [])
    assert (p.seeds, p.finished) == ((1, 2), (3,))


def test_wilson_interval():
    low, high = wilson_interval(3, 3)
    assert round(low, 4) == 0.4385 and high == 1.0
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and round(high, 3) == 0.161
    low, high = wilson_interval(7, 20)
    assert (round(low, 3), round(high, 3)) == (0.181, 0.567)


def test_cycle0_from_must_name_a_run_with_a_finished_seed_cycle(tmp_path):
    runs = tmp_path / "runs"
    with pytest.raises(ConfigError, match="loop.cycle0_from='nope'.*cannot be read"):
        cycle0_donor(runs, "nope")
    write_json(runs / "half" / "manifest.json", {"completed": ["base/eval", "cycle_000/generate"]})
    with pytest.raises(ConfigError, match="has not completed cycle_000/judge, cycle_000/train, cycle_000/eval"):
        cycle0_donor(runs, "half")
    done = ["base/eval", *(f"cycle_000/{s}" for s in ("generate", "judge", "train", "eval"))]
    write_json(runs / "done" / "manifest.json", {"completed": done})
    assert cycle0_donor(runs, "done") == cycle0_donor(tmp_path, str(runs / "done")) == (runs / "done").resolve()


def mark_replication(run_dir: Path, original: str, reuse_cycle0: bool = True) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.update(replication_of=original, varies={CYCLE0: original} if reuse_cycle0 else {})
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_the_report_counts_each_originals_replications_with_a_wilson_interval(tmp_path):
    original = write_run(tmp_path, reinit=False, seed=0)
    mark_replication(original, "")  # an original: replicates nothing
    replicas = [write_run(tmp_path, reinit=False, seed=seed, sweep=f"r{seed}", amplified=amplified)
                for seed, amplified in zip((1, 2, 3), (True, False, True))]
    for replica in replicas:
        mark_replication(replica, original.name)
    fresh = write_run(tmp_path, reinit=False, seed=4, amplified=False)
    mark_replication(fresh, original.name, reuse_cycle0=False)
    files = build_report(tmp_path / "runs")
    table = pd.read_csv(files.replications_csv)
    assert table[["original", "cycle0", "seeds", "amplified_in"]].values.tolist() == [
        [original.name, "original's", "1,2,3", "2/3"], [original.name, "fresh", "4", "0/1"]]
    assert (round(table["rate_ci95_low"][0], 3), round(table["rate_ci95_high"][0], 3)) == (0.208, 0.939)
    page = files.html.read_text()
    assert "<h2>Replications</h2>" in page and "Wilson" in page and files.plots["replications"].exists()
    # a replication sweep's own report (its multirun directory) reads the original beside the replications
    write_multirun(tmp_path / "multirun", replicas)
    alone = pd.read_csv(build_report(tmp_path / "multirun").replications_csv)
    assert alone[["original", "original_amplified", "amplified_in"]].values.tolist() == [[original.name, True, "2/3"]]
    # no replications, no section
    plain = build_report(write_run(tmp_path / "other", seed=0).parent)
    assert plain.replications_csv is None and "<h2>Replications</h2>" not in plain.html.read_text()


def replicas_of(runs: Path, original: str) -> dict[int, Path]:
    """seed -> run directory of each replication of `original` under runs/."""
    found = {}
    for path in runs.glob("*/metrics.json"):
        metrics = json.loads(path.read_text())
        if metrics.get("replication_of") == original:
            found[metrics["seed"]] = path.parent
    return found


def replicate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ampli.cli", "replicate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)


@pytest.mark.slow
def test_a_sweep_replicated_with_3_seeds_reports_k_of_3_per_flagged_run(tmp_path, model_cache):
    """A continual/reinit micro sweep (5 cycles, so the paper's rule decides), both runs flagged (a threshold every
    run passes), replicated with 3 seeds on each original's cycle 0; the report shows k/3 for each; a rerun launches
    nothing."""
    out = tmp_path / "out"
    overrides = with_overrides(MICRO, "loop.cycles=5", f"output_dir={out}", f"model_cache={model_cache}")
    sweep = subprocess.run([sys.executable, "launch.py", "-m", "trait=bliss", "reinit=false,true", *overrides],
                           cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert sweep.returncode == 0, sweep.stderr[-4000:]
    runs = out / "runs"
    originals = [find_run(runs, f"bliss-sft-{kind}-micro-s0") for kind in ("continual", "reinit")]

    done = replicate(str(runs), "--seeds", "3", "--threshold", "-100")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-4000:]
    assert "2 of 2 runs" in done.stdout and done.stdout.count("launch.py -m") == 2, done.stdout
    for original in originals:
        replicas = replicas_of(runs, original.name)
        assert sorted(replicas) == [1, 2, 3], replicas
        for seed, replica in replicas.items():
            metrics = json.loads((replica / "metrics.json").read_text())
            assert metrics["varies"]["loop.cycle0_from"] == original.name
            assert metrics["status"] == "completed" and len(metrics["cycles"]) == 5
            # cycle 0 is the original's, linked (the same file), and only later cycles differ
            linked = [Path("base/eval.jsonl"), Path("cycle_000/judgments.jsonl"),
                      *(f.relative_to(original) for f in (original / "cycle_000" / "checkpoint").rglob("*")
                        if f.is_file())]
            assert len(linked) > 2 and all((replica / f).stat().st_ino == (original / f).stat().st_ino
                                           for f in linked)
            assert (replica / "cycle_001" / "eval.jsonl").stat().st_ino != (original / "cycle_001" / "eval.jsonl").stat().st_ino

    report = subprocess.run([sys.executable, "-m", "ampli.cli", "report", str(runs)], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-4000:]
    table = build_report(runs).replications_csv.read_text()
    for original in originals:  # judged by the rule that flagged them (threshold -100: every finished run passes)
        assert json.loads((original / "flagged_by.json").read_text())["detector"]["threshold"] == -100
        assert f"{original.name}: 3/3 replications amplified" in report.stdout, report.stdout
        assert "3/3" in table
    assert "<h2>Replications</h2>" in (runs / "report" / "report.html").read_text()

    again = replicate(str(runs), "--seeds", "3", "--threshold", "-100")
    assert again.returncode == 0 and "launch.py" not in again.stdout, again.stdout
    assert again.stdout.count("3 finished before") == 2, again.stdout


def test_replication_of_is_bookkeeping_and_cycle0_from_part_of_the_runs_identity():
    """replication_of (bookkeeping) stays out of the result inputs; a cycle0_from that is set is part of the run's
    identity, and names it (runs made before it existed resume on their earlier fingerprint,
    ampli.record.fingerprint_v1)."""
    plain = result_inputs(OmegaConf.to_container(compose_config([]), resolve=True), {})
    assert plain["loop"]["cycle0_from"] is None and "replication_of" not in plain
    overrides = ["loop.cycle0_from=bliss-sft-reinit-tiny-s0", "replication_of=bliss-sft-reinit-tiny-s0", "seed=1"]
    cfg = compose_config(overrides)
    assert result_inputs(OmegaConf.to_container(cfg, resolve=True), {})["loop"]["cycle0_from"] == "bliss-sft-reinit-tiny-s0"
    assert run_identity(cfg, JobInfo(overrides=tuple(overrides))).name == (
        "bliss-sft-reinit-tiny-s1-cycle0_from=bliss-sft-reinit-tiny-s0")
