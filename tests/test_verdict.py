"""The one verdict (ampli/judges/verdict.py): every table, the paper table, the sweep summary, the report's headline and
`ampli replicate` take it from run_verdict and tally, never computing their own."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import ampli.judges.verdict
from ampli.judges.verdict import FLAGGED_FILE, PRIMARY, Rule, run_verdict, tally
from ampli.report import build_report
from ampli.report.paper_table import paper_table
from ampli.report.replicate import Plan, flagged_runs, launch_all
from ampli.report.replications import replication_table
from ampli.report.runs import find_run_dirs, load_run
from ampli.report.summary import print_summary
from ampli.report.table import configuration_table, verdict_table
from fixtures_runs import write_run


def runs_under(path: Path) -> list[dict]:
    return [load_run(d) for d in find_run_dirs(path / "runs")]


def edit_metrics(run_dir: Path, **changes) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.update(changes)
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_every_caller_takes_the_verdict_from_run_verdict(tmp_path, monkeypatch):
    """A detector that inverts every rule, put where run_verdict reads it: a caller with a verdict of its own (the
    metrics.json record, or detect() called directly) would still show the true one."""
    write_run(tmp_path, seed=0, amplified=True)
    write_run(tmp_path, seed=1, amplified=False)
    write_run(tmp_path, seed=2, amplified=False)
    write_run(tmp_path, seed=3, n_cycles=2, amplified=None)  # running, too short for the rule: pending
    real = ampli.judges.verdict.detect

    def inverted(scores, cfg):
        result = real(scores, cfg)
        return {**result, "rules": {name: not passed for name, passed in result["rules"].items()}}

    monkeypatch.setattr(ampli.judges.verdict, "detect", inverted)
    runs = runs_under(tmp_path)
    expected = {0: False, 1: True, 2: True, 3: None}  # inverted: seeds 1 and 2 amplified, seed 0 not
    assert {run["seed"]: run_verdict(run).amplified for run in runs} == expected
    verdicts = verdict_table(runs)
    assert dict(zip(verdicts["seed"], verdicts["amplified"])) == expected
    assert configuration_table(verdicts)["amplified_in"].tolist() == ["2/3 seeds (+1 pending)"]
    (row,) = paper_table(runs, by_seed=False).to_dict("records")
    assert row["amplified"] == "2/3 (+1 pending)" and row["amplified_traits"] == "bliss s1, bliss s2"
    assert [run["seed"] for run in flagged_runs(runs, PRIMARY, fresh_cycle0=False)] == [1, 2]
    files = build_report(tmp_path / "runs")
    assert "4 runs, amplified in 2/3 (+1 pending)" in files.html.read_text()
    out = io.StringIO()
    print_summary(files.configurations_csv, files.html, "t", Console(file=out, width=200))
    assert "2/3 amplified (+1 pending)" in out.getvalue()


def test_replications_are_judged_by_the_rule_that_flagged_their_original(tmp_path):
    """A curve that climbs 2 a cycle passes the slope rule, never the threshold (cycle 0 + 15 by cycle 4 needs 3.75)."""
    original = write_run(tmp_path, seed=0, amplified=True)
    replica = write_run(tmp_path, seed=1, trait_step=2.0, amplified=False)
    edit_metrics(replica, replication_of=original.name, varies={"loop.cycle0_from": original.name})
    runs = runs_under(tmp_path)
    assert replication_table(runs)["amplified_in"].tolist() == ["0/1"]  # nothing recorded: the primary rule
    slope = Rule("slope")
    launch_all([Plan(load_run(original), (), (), (1,))], [], slope)  # no seed left to run: records the rule only
    assert json.loads((original / FLAGGED_FILE).read_text())["rule"] == "slope"
    (row,) = replication_table(runs_under(tmp_path)).to_dict("records")
    assert (row["amplified_in"], row["rule"]) == ("1/1", slope.describe())


def test_the_paper_table_is_keyed_by_model_and_leaves_replications_out(tmp_path):
    for model in ("tiny", "micro"):
        write_run(tmp_path, model=model, seed=0, amplified=model == "tiny")
    replica = write_run(tmp_path, model="micro", seed=1, amplified=True)
    edit_metrics(replica, replication_of="bliss-sft-reinit-micro-s0")
    table = paper_table(runs_under(tmp_path))
    assert table[["model", "regime", "runs", "amplified"]].values.tolist() == [
        ["micro", "sft", "reinit", "0/1"], ["tiny", "sft", "reinit", "1/1"]]


def test_delta_and_last_trait_are_one_definition_everywhere(tmp_path):
    """The last trait is the last scored cycle (not the last cycle); Δ is each run's last minus its cycle 0, averaged
    over the runs that have both (not the difference of the averages, which differs when a run lacks one)."""
    write_run(tmp_path, seed=0, n_cycles=6, amplified=True)
    unscored = write_run(tmp_path, seed=1, n_cycles=5, amplified=True)
    cycles = json.loads((unscored / "metrics.json").read_text())["cycles"]
    cycles[0]["trait"] = cycles[-1]["trait"] = None  # cycle 0 and the last cycle unscored
    edit_metrics(unscored, cycles=cycles)
    runs = runs_under(tmp_path)
    verdicts = verdict_table(runs).set_index("seed")
    assert verdicts.loc[0, "delta_trait"] == 6.0 * 5 and pd.isna(verdicts.loc[1, "delta_trait"])
    assert verdicts.loc[1, "last_trait"] == 31.0 + 6.0 * 3
    assert configuration_table(verdict_table(runs))["delta_trait"].item() == pytest.approx(30.0)
    assert paper_table(runs, by_seed=False)["d_trait"].item() == pytest.approx(30.0)


def test_pending_runs_are_counted_apart():
    assert tally([True, False, None]).text("seeds") == "1/2 seeds (+1 pending)"
    assert tally([None, None]).text() == "0/0 (+2 pending)" and tally([None]).rate is None


def test_a_running_run_below_the_threshold_is_pending_not_not_amplified():
    run = {"status": "running", "cycles": [{"cycle": c, "trait": 10.0} for c in range(6)]}
    assert run_verdict(run).pending
    assert run_verdict({**run, "status": "completed"}).amplified is False


def test_an_unknown_rule_is_refused_naming_the_rules():
    with pytest.raises(ValueError, match="rule='slop' is not a detector rule; valid rules: threshold, "):
        Rule("slop")


def test_the_verdict_columns_hold_no_other_owners_numbers(tmp_path):
    write_run(tmp_path, seed=0, amplified=True)
    frame = pd.read_csv(build_report(tmp_path / "runs").verdicts_csv)
    assert not [c for c in frame.columns if c.startswith("rule_")]  # the record's rules are not a second verdict


def test_a_run_too_short_for_the_rule_is_warned_about_at_start():
    from ampli.run.preflight import preflight, verdict_warning
    from tests.conftest import ROOT, compose_config

    assert verdict_warning(compose_config(["loop.cycles=5"])) is None  # cycles 0-4: cycle 4 can decide
    warning = verdict_warning(compose_config(["loop.cycles=4"]))
    assert warning == ("loop.cycles=4 cannot reach a verdict: the rule (any cycle >= 4 scores >= cycle 0 + 15) needs "
                       "loop.cycles >= 5; these runs will be reported as pending")
    assert warning in preflight(ROOT / "conf", ["-m", "loop.cycles=4", "seed=0,1"])  # once for the sweep
    assert preflight(ROOT / "conf", ["-m", "loop.cycles=4", "seed=0,1"]).count(warning) == 1
