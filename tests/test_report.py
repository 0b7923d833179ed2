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
from ampli.report.plots import (DPI, REINIT_LABELS, SHARE_LIMITS, THRESHOLD_STYLE, plot_regime_grid, plot_tradeoff,
                                plot_vs_cycle, png_bytes, trait_color)
from ampli.report.runs import find_run_dirs, load_run
from ampli.report.samples import MAX_RUNS, cycle_samples
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
        else:  # too few cycles for the rule, and still running
            assert pd.isna(verdict["amplified"]) and verdict["status"] == "running"


def test_plot_files_are_pngs_of_the_figures_at_150_dpi_with_a_pdf_each(sweep) -> None:
    _, run_dirs, files = sweep
    table = runs_table([load_run(d) for d in run_dirs])
    figures = {
        "trait_vs_cycle": plot_vs_cycle(table, "trait_score", "trait score"),
        "coherence_vs_cycle": plot_vs_cycle(table, "coherence", "coherence"),
        "em_rate_vs_cycle": plot_vs_cycle(table, "em_rate", "EM rate", limits=SHARE_LIMITS),
        "trait_vs_coherence": plot_tradeoff(table),
        **{f"trait_vs_cycle_{regime}_{label}": fig for (regime, reinit), fig in plot_regime_grid(table).items()
           for label in [REINIT_LABELS[reinit]]},
    }
    assert set(files.plots) == set(figures) == set(files.vector_plots)
    assert "trait_vs_cycle_sft_reinit" in figures and "trait_vs_cycle_dpo_continual" in figures
    for name, fig in figures.items():
        width, height = png_size(files.plots[name].read_bytes())
        assert (width, height) == (round(fig.get_figwidth() * DPI), round(fig.get_figheight() * DPI)), name
        assert width > 600 and height > 450 and DPI >= 150
        assert files.vector_plots[name].read_bytes().startswith(b"%PDF"), name


def test_the_regime_figure_marks_threshold_and_base_in_its_legend(sweep) -> None:
    _, run_dirs, _ = sweep
    table = runs_table([load_run(d) for d in run_dirs])
    fig = plot_regime_grid(table)[("sft", True)]
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    # bliss has a third seed for 2 cycles (s7, still running): a band there, as 3 seeds give one
    assert legend == ["bliss", "lucky", "reinit", "one seed (bold: mean)", "95% band of the mean (>= 3 seeds)",
                      "base model (unseeded)", "threshold: cycle 0 + 15"]
    (ax,) = fig.axes
    thresholds = [line for line in ax.lines if line.get_linestyle() == THRESHOLD_STYLE]
    assert len(thresholds) == 2
    for trait, line in zip(("bliss", "lucky"), thresholds):  # 15 above the trait's cycle-0 mean, in its colour
        cycle0 = table[(table["trait"] == trait) & (table["regime"] == "sft") & table["reinit"] & (table["cycle"] == 0)]
        assert line.get_ydata()[0] == pytest.approx(cycle0["trait_score"].mean() + 15)
        assert line.get_color() == trait_color(trait)
    png_bytes(fig)  # lays the figure out
    renderer = fig._get_renderer()
    inside = fig.bbox.padded(1)
    for artist in [fig._suptitle, fig.legends[0], *(ax.title for ax in fig.axes)]:
        box = artist.get_window_extent(renderer)
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1, artist  # nothing cut at the figure's edges


def test_the_tradeoff_legend_lists_only_what_is_drawn(tmp_path: Path) -> None:
    runs = [write_run(tmp_path, regime="sft", reinit=True)]
    legend = [t.get_text() for t in plot_tradeoff(runs_table([load_run(d) for d in runs])).legends[0].get_texts()]
    assert legend == ["bliss", "reinit", "last cycle", "base model (unseeded)"]


def test_cycle_plot_has_a_panel_per_regime_colour_per_trait_style_per_reinit(sweep) -> None:
    _, run_dirs, _ = sweep
    fig = plot_vs_cycle(runs_table([load_run(d) for d in run_dirs]), "trait_score", "trait score")
    assert [ax.get_title() for ax in fig.axes] == ["sft", "dpo"]  # the paper's order
    for ax in fig.axes:
        drawn = {(line.get_color(), line.get_linestyle()) for line in ax.lines}
        assert drawn == {(trait_color(t), style) for t in ("bliss", "lucky") for style in ("-", "--")}
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == ["bliss", "lucky", "reinit", "continual", "one seed (bold: mean)",
                      "95% band of the mean (>= 3 seeds)", "base model (unseeded)"]


def test_only_configurations_that_exist_get_a_panel(tmp_path: Path) -> None:
    runs = [write_run(tmp_path, trait="bliss", regime="sft"), write_run(tmp_path, trait="lucky", regime="dpo",
                                                                         model="qwen")]
    fig = plot_vs_cycle(runs_table([load_run(d) for d in runs]), "coherence", "coherence")
    assert [ax.get_title() for ax in fig.axes] == ["sft · tiny", "dpo · qwen"]
    assert all(ax.get_visible() and ax.lines for ax in fig.axes)
    assert png_size(png_bytes(fig))[0] == round(fig.get_figwidth() * DPI)


def test_tradeoff_has_one_panel_per_configuration_and_colours_traits(tmp_path: Path) -> None:
    traits = ("bliss", "lucky", "misalignment", "hopelessness", "sycophancy")
    runs = [write_run(tmp_path, trait=t) for t in traits]
    fig = plot_tradeoff(runs_table([load_run(d) for d in runs]))
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["sft"]
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    assert {line.get_color() for line in ax.lines} == {trait_color(t) for t in traits}


def test_html_is_self_contained(sweep) -> None:
    _, run_dirs, files = sweep
    page = files.html.read_text()
    images = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert len(images) == len(files.plots) == 8  # 4 regime x reinit figures, 3 overviews, the trade-off
    assert "EM rate vs cycle" in page
    for src in images:
        assert src.startswith("data:image/png;base64,")
        png_size(base64.b64decode(src.split(",", 1)[1]))
    assert not re.search(r'(src|href)="(https?:|/|\.)', page)
    assert "bliss-sft-reinit-tiny-s7" in page


def test_html_reads_as_a_report_not_a_table_dump(sweep) -> None:
    _, run_dirs, files = sweep
    page = files.html.read_text()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    assert not {"None", "True", "False", "nan", "NaN", ""} & set(cells)
    headings = re.findall(r"<h2>([^<]*)</h2>", page)
    assert headings[:3] == ["What was run", "The paper&#x27;s table", "Failed and undecided runs"]
    assert "<dt>judge</dt><dd>offline lexicon judge (lexicon-v2)" in page and "<dd>0, 1, 7</dd>" in page
    assert "bliss-sft-reinit-tiny-s7</td><td class=\"text\">running</td>" in page  # undecided, with why
    # 8 configurations: the 4 dpo ones amplify in both seeds, the sft ones in none, one with its pending seed apart
    assert page.count('<td class="text yes">2/2 seeds</td>') == 4
    assert page.count('<td class="text no">0/2 seeds</td>') == 3
    assert page.count('<td class="text pending">0/2 seeds (+1 pending)</td>') == 1
    assert "+12.0" in page and " ± " in page  # signed changes and intervals
    full = page.index('<section id="full-tables">')
    assert page.index("<details><summary>Verdict per run") > full  # the per-run dump is last, collapsed
    samples = page[page.index('<section id="samples">'):full]
    assert samples.count("<details") == MAX_RUNS < len(run_dirs) and f"the first {MAX_RUNS} of 17 runs" in samples
    assert samples.count("<details open>") == 1  # the first run's answers in view
    assert '<td class="text">highest</td>' in samples  # one answer a cycle in the fixture: highest and lowest
    assert '<td class="text">lowest</td>' not in samples


def test_samples_are_the_highest_and_lowest_trait_answers_of_each_cycle() -> None:
    rows = [{"prompt": "q", "response": f"a{score}", "trait": score, "coherence": 50.0} for score in (40, 90, 5, 60)]
    picks = cycle_samples("run", 3, rows + [{"prompt": "q", "response": "unscorable", "trait": None}])
    assert [(p.which, p.response, p.trait, p.cycle) for p in picks] == [("highest", "a90", 90.0, 3),
                                                                         ("lowest", "a5", 5.0, 3)]
    assert cycle_samples("run", 0, []) == []


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
    figures = ("coherence_vs_cycle", "em_rate_vs_cycle", "trait_vs_coherence", "trait_vs_cycle",
               "trait_vs_cycle_sft_reinit")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in build_report(run_dir, out).all()) == sorted(
        ["configurations.csv", "report.html", "runs.csv", "runs.parquet", "verdicts.csv",
         *(f"{name}.{kind}" for name in figures for kind in ("png", "pdf"))])
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
