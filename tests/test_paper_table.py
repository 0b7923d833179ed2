"""`ampli paper-table`: per regime x reinit, runs amplified k/N and the mean change of trait and coherence from
cycle 0 to the last cycle, checked against fake runs whose numbers are known."""

from __future__ import annotations

import pandas as pd
import pytest

from ampli.cli import main
from ampli.report import build_report
from ampli.report.paper_table import paper_table, paper_tables
from ampli.report.runs import find_run_dirs, load_run
from fixtures_runs import write_run


def runs_under(path):
    return [load_run(d) for d in find_run_dirs(path / "runs")]


@pytest.fixture
def table_runs(tmp_path):
    """3 traits x (dpo, sft, distill) x reinit/continual, seed 0: only continual dpo amplifies, in 2 of 3 traits;
    one continual sft run stopped early (collapsed)."""
    for trait in ("bliss", "lucky", "misanthropy"):
        for regime in ("dpo", "sft", "distill"):
            for reinit in (True, False):
                amplifies = regime == "dpo" and not reinit and trait != "misanthropy"
                write_run(tmp_path, trait=trait, regime=regime, reinit=reinit, n_cycles=6,
                          trait_step=4.0 if amplifies else -1.0, amplified=amplifies)
    stopped = tmp_path / "runs" / "lucky-sft-continual-tiny-s0" / "metrics.json"
    stopped.write_text(stopped.read_text().replace('"status": "completed"', '"status": "collapsed"'))
    return tmp_path


def test_rows_count_amplified_runs_and_average_changes(table_runs) -> None:
    table = paper_table(runs_under(table_runs)).set_index(["regime", "runs"])
    # the paper's regimes first, in their usual order; a regime ampli did not know of (distill) after them
    assert list(table.index) == [("sft", "reinit"), ("sft", "continual"), ("dpo", "reinit"), ("dpo", "continual"),
                                 ("distill", "reinit"), ("distill", "continual")]
    assert table.loc[("dpo", "continual"), "amplified"] == "2/3"
    assert table.loc[("dpo", "continual"), "amplified_traits"] == "bliss, lucky"
    assert (table.drop(index=[("dpo", "continual")])["amplified"] == "0/3").all()
    # fixture: trait = 32.5 + step * cycle (continual), coherence = 80 - 3 * cycle: 6 cycles
    assert table.loc[("dpo", "continual"), "d_trait"] == pytest.approx((4.0 * 5 * 2 - 1.0 * 5) / 3)
    assert table.loc[("dpo", "continual"), "trait_c0"] == pytest.approx(32.5)
    assert table.loc[("sft", "reinit"), "d_trait"] == pytest.approx(-5.0)
    assert list(table["d_coherence"]) == pytest.approx([-15.0] * 6)
    assert table.loc[("sft", "continual"), "not_completed"] == 1 and table["not_completed"].sum() == 1


def test_one_table_per_seed_then_all_seeds_together(tmp_path) -> None:
    for seed in (0, 1):
        for trait in ("bliss", "lucky"):
            amplifies = trait == "bliss" or seed == 1
            write_run(tmp_path, trait=trait, regime="dpo", reinit=False, seed=seed, amplified=amplifies)
    tables = paper_tables(runs_under(tmp_path))
    assert list(tables) == ["seed 0", "seed 1", "seeds 0, 1 together"]
    assert [t["amplified"].item() for t in tables.values()] == ["1/2", "2/2", "3/4"]
    assert tables["seeds 0, 1 together"]["amplified_traits"].item() == "bliss s0, bliss s1, lucky s1"


def test_command_prints_the_table_and_writes_it_beside_the_report(table_runs, capsys) -> None:
    assert main(["paper-table", str(table_runs / "runs")]) == 0
    out = capsys.readouterr().out
    assert "seed 0" in out and "2/3" in out and "bliss, lucky" in out
    report = table_runs / "runs" / "report"
    written = pd.read_csv(report / "paper_table.csv")
    assert set(written["table"]) == {"seed 0"} and len(written) == 6
    markdown = (report / "paper_table.md").read_text()
    assert "| dpo | continual | 2/3 |" in markdown and "| Δ trait |" in markdown


def test_command_on_a_path_without_runs_fails_in_one_line(tmp_path, capsys) -> None:
    assert main(["paper-table", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ampli paper-table: error: no runs found under") and "\n" == err[-1] and err.count("\n") == 1


def test_report_page_carries_the_paper_table(table_runs) -> None:
    page = build_report(table_runs / "runs").html.read_text().replace("&#x27;", "'")
    section = page[page.index('<section id="paper-table">'): page.index('<section id="attention">')]
    assert "<h3>seed 0</h3>" in section and "2/3" in section and "bliss, lucky" in section


def test_runs_too_short_for_a_verdict_are_pending_not_not_amplified(tmp_path) -> None:
    import json

    from ampli.judges.detector import detect

    runs = []
    for seed in (0, 1):
        run_dir = write_run(tmp_path, seed=seed, n_cycles=2, amplified=False)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        metrics["amplification"] = detect([c["trait"] for c in metrics["cycles"]])  # the rule needs a cycle >= 4
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        runs.append(load_run(run_dir))
    (row,) = paper_table(runs).to_dict("records")
    assert row["amplified"] == "0/0 (+2 pending)"  # k of the N decided runs, the pending apart
