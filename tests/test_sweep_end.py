"""A sweep as a researcher launches it (`launch.py -m`): it ends with a one-screen summary and its report, and its
runs share one W&B group with the per-cycle metrics on the cycle axis (offline W&B files read back)."""

import os
import subprocess
import sys

from tests.conftest import MICRO, ROOT, find_run, with_overrides
from tests.test_tracking import _read_run


def test_a_sweep_ends_with_its_summary_and_its_runs_share_a_wandb_group(tmp_path):
    sweep_dir = tmp_path / "sweep"
    overrides = with_overrides(MICRO, "loop.cycles=1", "logger=wandb", "sweep=seeds-test", "seed=0,1",
                               f"output_dir={tmp_path / 'outputs'}", f"hydra.sweep.dir={sweep_dir}")
    env = {**os.environ, "WANDB_MODE": "offline", "HOME": str(tmp_path / "home"),
           **{var: str(tmp_path / var.lower()) for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR")}}
    env.pop("WANDB_API_KEY", None)
    done = subprocess.run([sys.executable, "launch.py", "-m", *overrides], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    summary = done.stdout[done.stdout.index("sweep seeds-test"):]  # printed after both jobs' lines
    assert "sft reinit" in summary and "0/0 amplified (+2 pending)" in summary  # 1 cycle: too few for a verdict
    assert (f"W&B: 2 offline folders of 2 runs under <run>/wandb/; upload them with: wandb sync "
            f"{tmp_path / 'outputs' / 'runs'}/*/wandb/offline-run-*") in summary  # where the data is, how to upload
    assert summary.rstrip().endswith(f"report: {sweep_dir / 'report' / 'report.html'}")
    assert (sweep_dir / "report" / "report.html").is_file() and (sweep_dir / "report" / "configurations.csv").is_file()

    runs = [_read_run(path) for path in sorted((tmp_path / "outputs" / "runs").glob("*/wandb/offline-run-*/*.wandb"))]
    outputs = tmp_path / "outputs" / "runs"
    assert [r["run"].display_name for r in runs] == [find_run(outputs, f"bliss-sft-reinit-micro-s{seed}").name
                                                     for seed in (0, 1)]
    assert {r["run"].run_group for r in runs} == {"seeds-test"}
    for run in runs:
        metrics = {m.name: m for m in run["metrics"] if m.name}
        for name in ("trait", "coherence", "em_rate"):
            assert metrics[name].step_metric == "cycle", name
        assert metrics["trait"].summary.max and metrics["trait"].summary.last
        assert metrics["coherence"].summary.min
        assert [row["cycle"] for row in run["history"]] == [-1, 0]
        assert all("em_rate" in row and "trait" in row for row in run["history"])
        assert run["summary"]["trait"]["max"] == max(row["trait"] for row in run["history"])


def test_a_sweep_with_a_failed_job_still_ends_with_the_summary_of_the_others_and_the_failure(tmp_path):
    sweep_dir = tmp_path / "sweep"
    overrides = with_overrides(MICRO, "loop.cycles=1", f"trait.seed_file={tmp_path / 'missing.jsonl'},null",
                               "sweep=half-bad", "logger=none", f"output_dir={tmp_path / 'outputs'}",
                               f"hydra.sweep.dir={sweep_dir}")
    done = subprocess.run([sys.executable, "launch.py", "-m", *overrides], cwd=ROOT, text=True, capture_output=True,
                          timeout=600)
    assert done.returncode != 0 and "missing.jsonl is missing (trait.seed_file)" in done.stderr
    assert "Traceback" not in done.stderr.split("Set the environment variable HYDRA_FULL_ERROR")[-1]  # not the hook's
    summary = done.stdout[done.stdout.index("sweep half-bad"):]
    assert "0/0 amplified (+1 pending)" in summary and summary.rstrip().endswith(str(sweep_dir / "report" / "report.html"))
    assert "1 failed job (no run; job directories under" in summary
    assert "job 0 (" in summary and "missing.jsonl is missing (trait.seed_file)" in summary
    page = (sweep_dir / "report" / "report.html").read_text()
    assert "1 failed job (no run to report on)" in page and "missing.jsonl is missing (trait.seed_file)" in page


def test_the_summary_hook_never_raises(tmp_path, monkeypatch, caplog):
    """Whatever goes wrong while summarising (here: a failure inside the report), the sweep's outcome stays its jobs'."""
    from omegaconf import OmegaConf

    from ampli.run import sweep_summary

    def broken(sweep_dir, name):
        raise RuntimeError("can't register atexit after shutdown")

    monkeypatch.setattr(sweep_summary, "summarise_sweep", broken)
    hook = sweep_summary.SweepSummary()
    hook.on_multirun_start(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "sweep": "s"}))
    with caplog.at_level("WARNING", logger="ampli"):
        sweep_summary.summarise_pending()  # what launch.py does on its way out
        sweep_summary.summarise_pending()  # once only
    assert caplog.messages == [f"no sweep summary for {tmp_path}: RuntimeError: can't register atexit after shutdown"]


def test_a_sweep_whose_jobs_all_failed_lists_them(tmp_path, capsys):
    from ampli.run import sweep_summary
    from tests.fixtures_runs import write_failed_job

    write_failed_job(tmp_path / "0", "trait=bliss", "data file /x.jsonl is missing (trait.seed_file)")
    sweep_summary.summarise_sweep(tmp_path, "all-bad")
    out = capsys.readouterr().out
    assert "1 failed job (no run; job directories under" in out
    assert "job 0 (trait=bliss): data file /x.jsonl is missing (trait.seed_file)" in out
