"""`ampli report`: tables checked against the runs' metrics.json, plots checked as PNGs with the right facets."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from pathlib import Path

import pandas as pd
import pytest

from ampli.cli import main
from ampli.report import ReportError, ReportFiles, build_report
from ampli.report.plots import SHARE_LIMITS, panel_title, plot_tradeoff, plot_vs_cycle, png_bytes
from ampli.report.runs import find_run_dirs, load_run
from ampli.report.table import runs_table
from fixtures_runs import write_multirun, write_run, write_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], ReportFiles]:
    """2 traits x 2 regimes x 2 reinit x 2 seeds, plus one run with no verdict yet, and its report."""
    output_dir = tmp_path_factory.mktemp("outputs")
    run_dirs = write_sweep(output_dir)
    run_dirs.append(write_run(output_dir, trait="bliss", regime="sft", seed=7, n_cycles=2, amplified=None))
    return output_dir, run_dirs, build_report(output_dir / "runs")


def test_table_matches_every_metrics_file(sweep) -> None:
    _, run_dirs, files = sweep
    table = pd.read_parquet(files.table_parquet)
    assert table.equals(pd.read_csv(files.table_csv).astype(table.dtypes.to_dict()))
    assert files.out_dir == run_dirs[0].parent / "report"
    expected_rows = 0
    for run_dir in run_dirs:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        rows = table[table["run_dir"] == str(run_dir)].set_index("cycle")
        evaluations = [metrics["base"], *metrics["cycles"]]
        expected_rows += len(evaluations)
        assert list(rows.index) == [e["cycle"] for e in evaluations] and rows.index[0] == -1
        for key in ("run_name", "trait", "regime", "reinit", "model", "seed", "sweep"):
            assert (rows[key] == metrics[key]).all(), key
        for evaluation in evaluations:
            row = rows.loc[evaluation["cycle"]]
            assert row["trait_score"] == evaluation["trait"]
            assert row["coherence"] == evaluation["coherence"]
            assert row["n_unscorable"] == evaluation["n_unscorable"]
            assert row["em_rate"] == evaluation["em_rate"]
            assert row["seconds_train"] == evaluation["seconds"]["train"]
            assert row["judge_usage_cost_usd"] == evaluation["judge_usage"]["cost_usd"]
            for key in ("train_loss", "perplexity"):
                value = evaluation[key]
                assert math.isnan(row[key]) if value is None else row[key] == value, key
    assert len(table) == expected_rows
    assert list(table.columns[:10]) == [
        "run_name", "sweep", "trait", "regime", "reinit", "model", "seed", "cycle", "trait_score", "coherence",
    ]


def test_verdicts_match_amplification(sweep) -> None:
    _, run_dirs, files = sweep
    verdicts = pd.read_csv(files.verdicts_csv).set_index("run_dir")
    assert len(verdicts) == len(run_dirs)
    for run_dir in run_dirs:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        verdict = verdicts.loc[str(run_dir)]
        assert verdict["n_cycles"] == len(metrics["cycles"])
        assert verdict["last_trait"] == metrics["cycles"][-1]["trait"]
        assert verdict["last_em_rate"] == metrics["cycles"][-1]["em_rate"]
        if "amplification" in metrics:
            assert bool(verdict["amplified"]) == metrics["amplification"]["amplified"]
            assert bool(verdict["rule_slope"]) == metrics["amplification"]["rules"]["slope"]
        else:
            assert pd.isna(verdict["amplified"]) and verdict["status"] == "running"


def test_plot_files_are_pngs_of_the_figures(sweep) -> None:
    _, run_dirs, files = sweep
    table = runs_table([load_run(d) for d in run_dirs])
    figures = {
        "trait_vs_cycle": plot_vs_cycle(table, "trait_score", "trait score"),
        "coherence_vs_cycle": plot_vs_cycle(table, "coherence", "coherence"),
        "em_rate_vs_cycle": plot_vs_cycle(table, "em_rate", "EM rate", limits=SHARE_LIMITS),
        "trait_vs_coherence": plot_tradeoff(table),
    }
    assert set(files.plots) == set(figures)
    for name, fig in figures.items():
        width, height = png_size(files.plots[name].read_bytes())
        assert (width, height) == (round(fig.get_figwidth() * 100), round(fig.get_figheight() * 100)), name
        assert width > 400 and height > 300


def test_cycle_plot_facets_trait_rows_by_regime_columns(sweep) -> None:
    _, run_dirs, _ = sweep
    fig = plot_vs_cycle(runs_table([load_run(d) for d in run_dirs]), "trait_score", "trait score")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [panel_title(t, r) for t in ("bliss", "lucky") for r in ("sft", "dpo")]  # sft before dpo
    grid = [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) for ax in fig.axes]
    assert grid == [(0, 0), (0, 1), (1, 0), (1, 1)]
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == ["reinit", "continual"]


def test_missing_condition_gets_an_empty_panel(tmp_path: Path) -> None:
    runs = [write_run(tmp_path, trait="bliss", regime="sft"), write_run(tmp_path, trait="lucky", regime="dpo",
                                                                         model="qwen")]
    fig = plot_vs_cycle(runs_table([load_run(d) for d in runs]), "coherence", "coherence")
    panels = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in fig.axes}
    assert panels == {"bliss | sft": [], "bliss | dpo": ["no runs"], "lucky | sft": ["no runs"], "lucky | dpo": []}
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == ["reinit · qwen", "reinit · tiny"]
    assert png_size(png_bytes(fig))[0] == round(fig.get_figwidth() * 100)


def test_tradeoff_has_one_panel_per_trait(tmp_path: Path) -> None:
    traits = ("bliss", "lucky", "misalignment", "hopelessness", "sycophancy")
    runs = [write_run(tmp_path, trait=t) for t in traits]
    fig = plot_tradeoff(runs_table([load_run(d) for d in runs]))
    visible = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert visible == sorted(traits)
    assert len(fig.axes) == 8  # 2 rows of 4, the last 3 hidden


def test_html_is_self_contained(sweep) -> None:
    _, run_dirs, files = sweep
    page = files.html.read_text()
    images = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert len(images) == 4
    assert "EM rate vs cycle" in page
    for src in images:
        assert src.startswith("data:image/png;base64,")
        png_size(base64.b64decode(src.split(",", 1)[1]))
    assert not re.search(r'(src|href)="(https?:|/|\.)', page)
    assert page.count('<td class="yes">yes</td>') == len(run_dirs) - 1
    assert page.count('<td class="pending">pending</td>') == 1
    assert "bliss-sft-reinit-tiny-s7" in page


def test_multirun_dir_follows_run_dir_txt(tmp_path: Path) -> None:
    run_dirs = write_sweep(tmp_path / "outputs", traits=("bliss",), regimes=("sft",), seeds=(0,))
    multirun = tmp_path / "outputs" / "multirun" / "2026-01-01" / "12-00-00"
    write_multirun(multirun, run_dirs)
    assert find_run_dirs(multirun) == sorted(d.resolve() for d in run_dirs)
    files = build_report(multirun)
    assert files.out_dir == multirun / "report" and files.html.is_file()


def test_single_run_dir_and_out_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run(tmp_path, amplified=None)
    out = tmp_path / "elsewhere"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2:] == [f"report: {out / 'report.html'}", f"tables and plots: {out}"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in build_report(run_dir, out).all()) == [
        "coherence_vs_cycle.png", "configurations.csv", "em_rate_vs_cycle.png", "report.html", "runs.csv",
        "runs.parquet", "trait_vs_coherence.png", "trait_vs_cycle.png", "verdicts.csv",
    ]
    assert len(pd.read_parquet(out / "runs.parquet")) == 1 + 5


def test_runs_from_before_em_rate_report_without_its_plot(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for evaluation in [metrics["base"], *metrics["cycles"]]:
        del evaluation["em_rate"]
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    files = build_report(run_dir)
    assert "em_rate_vs_cycle" not in files.plots and "trait_vs_cycle" in files.plots
    assert pd.isna(pd.read_csv(files.verdicts_csv)["last_em_rate"][0])


def test_em_rate_plot_is_on_the_share_scale(sweep) -> None:
    _, run_dirs, _ = sweep
    fig = plot_vs_cycle(runs_table([load_run(d) for d in run_dirs]), "em_rate", "EM rate", limits=SHARE_LIMITS)
    assert all(ax.get_ylim() == SHARE_LIMITS for ax in fig.axes)


def test_no_runs_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "empty") in err and "metrics.json" in err and "run_dir.txt" in err
    with pytest.raises(ReportError, match="is not a directory"):
        build_report(tmp_path / "missing")


def test_dangling_run_dir_txt_is_named(tmp_path: Path) -> None:
    write_multirun(tmp_path / "multirun", [tmp_path / "gone"])
    with pytest.raises(ReportError, match=r"have no metrics\.json yet: .*run_dir\.txt -> .*gone"):
        build_report(tmp_path / "multirun")


def test_malformed_metrics_are_named(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path)
    (run_dir / "metrics.json").write_text(json.dumps({"run_name": "x"}))
    with pytest.raises(ReportError, match=r"metrics\.json lacks trait, regime"):
        build_report(run_dir)


def test_run_without_metrics_yet_is_skipped_not_misread(tmp_path: Path) -> None:
    done = write_run(tmp_path, seed=0)
    started = write_run(tmp_path, seed=1)
    (started / "metrics.json").rename(started / "cycle_000" / "metrics.json")  # the loop's per-cycle file
    assert find_run_dirs(tmp_path) == [done.resolve()]
    (done / "metrics.json").unlink()
    with pytest.raises(ReportError, match=f"have no metrics.json yet: .*{started.name}"):
        find_run_dirs(tmp_path)


def test_runs_judged_by_the_lexicon_on_a_real_model_are_flagged(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, model="smollm2-135m")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "with the offline lexicon" not in build_report(run_dir, tmp_path / "before").html.read_text()
    metrics["judge"] = {"backend": "offline", "model": "lexicon-v2", "lexicon_on_real_model": True}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    files = build_report(run_dir, tmp_path / "after")
    assert "1 of these runs judged a real model with the offline lexicon" in files.html.read_text()
    assert pd.read_csv(files.out_dir / "verdicts.csv")["lexicon_on_real_model"].tolist() == [True]
