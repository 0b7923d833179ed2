"""`ampli report` over a folder that mixes experiments (an SFT run beside a DPO beta sweep): a panel only for each
configuration that exists, "-" for a key a regime does not read, wrapped titles that never overlap, and PDFs whose
fonts a journal accepts (TrueType, never Type 3)."""

from __future__ import annotations

import pandas as pd
import pytest

from ampli.report import build_report
from ampli.report.plots import TITLE_CHARACTERS, png_bytes, plot_vs_cycle
from ampli.report.runs import NOT_READ, add_swept_settings, find_run_dirs, load_run
from ampli.report.table import runs_table
from fixtures_runs import write_run

BETAS = ("0.05", "0.1", "0.2")


@pytest.fixture
def mixed(tmp_path):
    """An SFT run (2 seeds) and a DPO beta sweep (one seed each) in one folder."""
    for seed in (0, 1):
        write_run(tmp_path, regime="sft", seed=seed)
    for beta in BETAS:
        write_run(tmp_path, regime="dpo", reinit=False, varies={"regime.beta": beta})
    return tmp_path / "runs"


def test_an_sft_run_beside_a_dpo_beta_sweep_has_no_beta(mixed):
    configurations = pd.read_csv(build_report(mixed).configurations_csv, dtype={"beta": str})
    by_regime = configurations.groupby("regime")["beta"].apply(list).to_dict()
    assert by_regime == {"sft": [NOT_READ], "dpo": list(BETAS)}


def test_each_configuration_gets_one_panel_and_none_is_empty(mixed):
    runs = [load_run(d) for d in find_run_dirs(mixed)]
    swept = add_swept_settings(runs)
    fig = plot_vs_cycle(runs_table(runs), "trait_score", "trait score", swept=swept, threshold=15)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["sft", *(f"dpo\nbeta={beta}" for beta in BETAS)]
    assert all(ax.lines for ax in fig.axes if ax.get_visible())


def test_long_panel_titles_wrap_and_never_overlap(tmp_path):
    long_value = "a-rather-long-setting-value-" * 3
    for index in range(3):
        write_run(tmp_path, regime="dpo", varies={"regime.loss_type": f"{long_value}{index}",
                                                  "regime.rejected_source": f"{long_value}{index}"})
    runs = [load_run(d) for d in find_run_dirs(tmp_path / "runs")]
    swept = add_swept_settings(runs)
    fig = plot_vs_cycle(runs_table(runs), "trait_score", "trait score", swept=swept)
    assert all(len(line) <= TITLE_CHARACTERS for ax in fig.axes for line in ax.get_title().split("\n"))
    png_bytes(fig)  # lays the figure out
    renderer = fig._get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
    assert len(boxes) == 3
    for i, box in enumerate(boxes):
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
        assert not any(box.overlaps(other) for other in boxes[i + 1:])


def test_every_pdf_embeds_truetype_fonts_never_type_3(mixed):
    files = build_report(mixed)
    assert files.vector_plots
    for name, path in files.vector_plots.items():
        pdf = path.read_bytes()
        assert b"/Type3" not in pdf, name
        assert b"/FontFile2" in pdf, name  # an embedded TrueType font program (Type 42)
