"""The whole loop on the micro model: every stage's files, resume, data policy, and the CLI entry point."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ampli.record.store import read_json, read_jsonl
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, find_run, with_overrides

STAGES = ["generate", "judge", "train", "eval"]


def run_loop(overrides):
    return Run(compose_config(overrides)).run()


def stage_lines(caplog, verb):
    return [r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith(f"{verb} ")]


@pytest.mark.parametrize("regime", ["sft", "sdf", "dpo"])
def test_every_regime_writes_every_stage(micro_overrides, regime):
    summary = run_loop(with_overrides(micro_overrides, f"regime={regime}", "reinit=false"))
    run_dir = run_dir_of(micro_overrides, summary)
    assert [c["cycle"] for c in summary["cycles"]] == [0, 1]
    for cycle in (0, 1):
        d = run_dir / f"cycle_{cycle:03d}"
        gens = read_jsonl(d / "generations.jsonl")
        judged = read_jsonl(d / "judgments.jsonl")
        assert len(gens) == len(judged) > 0 and [g["id"] for g in gens] == [j["id"] for j in judged]
        assert (d / "checkpoint").is_dir() and read_json(d / "metrics.json")["cycle"] == cycle
        assert 0 <= summary["cycles"][cycle]["trait"] <= 100 and 0 <= summary["cycles"][cycle]["coherence"] <= 100
    manifest = read_json(run_dir / "manifest.json")["completed"]
    assert manifest == ["base/eval"] + [f"cycle_{c:03d}/{s}" for c in (0, 1) for s in STAGES]
    assert read_json(run_dir / "metrics.json")["amplification"]["decided"] is False
    assert summary["status"] == "completed"


def output_dir_of(overrides) -> Path:
    return Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))


def run_dir_of(overrides, summary) -> Path:
    return output_dir_of(overrides) / "runs" / summary["run_name"]


def test_cycles_use_fresh_prompts(micro_overrides):
    summary = run_loop(with_overrides(micro_overrides, "loop.cycles=3"))
    run_dir = run_dir_of(micro_overrides, summary)
    prompts = [{g["prompt"] for g in read_jsonl(run_dir / f"cycle_{c:03d}/generations.jsonl")} for c in (1, 2)]
    assert len(prompts[0]) == len(prompts[1]) == 8 and not prompts[0] & prompts[1]


def test_resume_after_deleting_the_last_stage_redoes_only_that_stage(micro_overrides, caplog):
    first = run_loop(micro_overrides)
    run_dir = run_dir_of(micro_overrides, first)
    manifest_path = run_dir / "manifest.json"
    manifest = read_json(manifest_path)
    assert manifest["completed"].pop() == "cycle_001/eval"
    manifest_path.write_text(json.dumps(manifest))
    (run_dir / "cycle_001" / "eval.jsonl").unlink()
    caplog.set_level(logging.INFO, logger="ampli")
    second = run_loop(micro_overrides)
    assert stage_lines(caplog, "run") == ["cycle_001/eval"]
    assert len(stage_lines(caplog, "skip")) == 1 + 4 + 3
    strip = lambda s: [{k: v for k, v in c.items() if k != "seconds"} for c in s["cycles"]]  # noqa: E731
    assert strip(second) == strip(first)


def test_a_rerun_of_a_finished_run_does_no_work(micro_overrides, caplog):
    run_loop(micro_overrides)
    caplog.set_level(logging.INFO, logger="ampli")
    run_loop(micro_overrides)
    assert stage_lines(caplog, "run") == []


def test_more_cycles_extend_a_finished_run(micro_overrides, caplog):
    run_loop(micro_overrides)
    caplog.set_level(logging.INFO, logger="ampli")
    summary = run_loop(with_overrides(micro_overrides, "loop.cycles=3"))
    assert stage_lines(caplog, "run") == [f"cycle_002/{s}" for s in STAGES]
    assert len(summary["cycles"]) == 3


def trained_ids(run: Run, monkeypatch) -> dict[int, list[str]]:
    """The ids of the records each cycle's model is trained on, in order, as the run hands them to its regime."""
    trained = {}
    real_train = run.regime.train

    def train(ctx, plan, records):
        trained[plan.cycle] = [r["id"] for r in records]
        return real_train(ctx, plan, records)

    monkeypatch.setattr(run.regime, "train", train)
    return trained


def test_accumulate_trains_on_every_cycle_so_far(micro_overrides, monkeypatch):
    run = Run(compose_config(with_overrides(micro_overrides, "loop.data_policy=accumulate", "loop.cycles=3")))
    trained = trained_ids(run, monkeypatch)
    run_dir = run_dir_of(micro_overrides, run.run())
    kept = [[r["id"] for r in read_jsonl(run_dir / f"cycle_{c:03d}" / "generations.jsonl")
             if run.regime.judge_item(r).response.strip()] for c in (0, 1, 2)]
    assert len(kept[0]) == 16 and all(0 < len(k) <= 8 for k in kept[1:])
    assert trained == {0: kept[0], 1: kept[0] + kept[1], 2: kept[0] + kept[1] + kept[2]}
    assert [read_json(run_dir / f"cycle_{c:03d}" / "train.json")["n_examples"] for c in (0, 1, 2)] == [
        len(trained[c]) for c in (0, 1, 2)]


def test_launch_py_runs_a_sweep_and_rejects_bad_overrides(micro_overrides):
    cmd = [sys.executable, "launch.py", "-m", *with_overrides(micro_overrides, "trait=bliss,misalignment", "loop.cycles=1")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = output_dir_of(micro_overrides)
    run_dirs = sorted(p.name for p in (out / "runs").iterdir())
    assert [find_run(out / "runs", stem).name for stem in ("bliss-sft-reinit-micro-s0",
                                                           "misalignment-sft-reinit-micro-s0")] == run_dirs
    pointers = sorted(out.glob("multirun/*/*/*/run_dir.txt"))
    assert len(pointers) == 2

    bad = subprocess.run([sys.executable, "launch.py", "trait=joy"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "joy" in bad.stderr and "bliss" in bad.stderr and "misanthropy" in bad.stderr
    bad = subprocess.run([sys.executable, "launch.py", *with_overrides(micro_overrides, "loop.cycles=0")], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "loop.cycles=0 is not valid" in bad.stderr
