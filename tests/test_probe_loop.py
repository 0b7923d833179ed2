"""probe=persona in the whole loop, on the micro model: numbers for the base model and every cycle, stages that resume
like every other, a run whose models and answers are those of the same run without the probe, and refusals."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.judge_server import FakeJudgeServer, Reply, judge_overrides

from ampli.record.store import read_json, read_jsonl
from ampli.run.loop import Run
from ampli.run.probe.config import ProbeError
from tests.conftest import ROOT, compose_config, with_overrides

PROBE_STAGES = ["probe/vector", "base/probe"] + [f"cycle_{c:03d}/{s}" for c in (0, 1)
                                                  for s in ("probe_predicted", "probe")]


def run_loop(overrides):
    return Run(compose_config(overrides)).run()


def stages(caplog, verb: str) -> list[str]:
    return [r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith(f"{verb} ")]


def without_timings(summary: dict) -> list[dict]:
    return [{k: v for k, v in m.items() if k != "seconds"} for m in (summary["base"], *summary["cycles"])]


@pytest.mark.slow
def test_the_probe_measures_every_cycle_resumes_and_changes_no_result(micro_overrides, caplog):
    caplog.set_level(logging.INFO, logger="ampli")
    overrides = with_overrides(micro_overrides, "regime=dpo", "reinit=false", "probe=persona")
    probed = run_loop(overrides)
    assert [s for s in stages(caplog, "run") if "probe" in s] == PROBE_STAGES
    assert probed["probe"]["separates"] is True and probed["probe"]["layer"] >= 1
    assert isinstance(probed["base"]["persona_projection"], float)
    for cycle in probed["cycles"]:
        assert all(isinstance(cycle[k], float) for k in ("persona_projection", "persona_shift",
                                                          "persona_predicted_shift")), cycle
        assert {"probe", "probe_predicted"} <= set(cycle["seconds"])
    root = Path(compose_config(overrides).output_dir) / "runs" / probed["run_name"]
    cycle1 = read_json(root / "cycle_001" / "probe.json")
    base = read_json(root / "base" / "probe.json")
    assert probed["cycles"][1]["persona_shift"] == pytest.approx(cycle1["last_prompt_projection"]
                                                                 - base["last_prompt_projection"])
    assert cycle1["n_answers"] == len(read_jsonl(root / "cycle_001" / "eval.jsonl"))

    caplog.clear()  # a rerun does no probe work and reports the same numbers
    again = run_loop(overrides)
    assert stages(caplog, "run") == [] and set(PROBE_STAGES) <= set(stages(caplog, "skip"))
    assert without_timings(again) == without_timings(probed)

    # The same run without the probe (its own directory): the same answers and scores, so the same models.
    plain = run_loop(with_overrides(overrides, "probe=none", f"output_dir={compose_config(overrides).output_dir}-none"))
    strip = lambda m: {k: v for k, v in m.items() if not k.startswith("persona_")}  # noqa: E731
    assert [strip(m) for m in without_timings(plain)] == [strip(m) for m in without_timings(probed)]
    assert plain["probe"] is None and "persona_projection" not in plain["cycles"][0]

    # The same directory with other probe settings: refused before any work, nothing deleted.
    with pytest.raises(ProbeError, match=r"other settings \(probe\.examples=64\).*delete .*probe to measure it anew"):
        Run(compose_config(with_overrides(overrides, "probe.examples=32")))
    assert read_json(root / "cycle_001" / "probe.json") == cycle1


def test_tinker_refuses_the_probe_at_start_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "launch.py", "backend=tinker", "probe=persona", "logger=none",
                           f"output_dir={tmp_path}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]  # one line, with every other start problem (the service's key)
    assert last.startswith("ampli: error: ") and (
        "probe=persona needs the model's activations, which backend=tinker does not return; "
        "use backend=local or probe=none") in last
    assert not (tmp_path / "runs").exists()


def test_a_probe_whose_judge_keeps_too_few_answers_stops_the_run_and_closes_the_judge(micro_overrides, monkeypatch):
    """Every answer scored 50 is neither trait (> 50) nor neutral (< 50): the probe stops the run with the counts,
    the base eval already judged stays, and the judge's client goes with the run (the suite's leak check sees any
    thread it leaves)."""
    monkeypatch.setenv("AMPLI_TEST_PROBE_KEY", "sk-probe-test")
    with FakeJudgeServer(lambda user, attempt: Reply(text="50")) as server:
        overrides = [*micro_overrides, *judge_overrides(server, "AMPLI_TEST_PROBE_KEY"), "probe=persona",
                     "probe.source=persona_prompt", "probe.examples=8"]
        run = Run(compose_config(overrides))
        with pytest.raises(ProbeError, match=r"the judge kept 0 of 8 trait answers \(trait > 50\), too few"):
            run.run()
    assert len(read_jsonl(run.store.root / "base" / "eval.jsonl")) > 0
    assert not (run.store.root / "probe" / "vector.json").exists()
