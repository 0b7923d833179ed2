"""Seeds in the report: configurations (runs that differ only by seed) get "amplified in k/N seeds", their curves a
mean with a 95% Student-t band and a thin line per seed; grids stay readable for 7 traits; a one-screen summary."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from rich.console import Console

from ampli.report import build_report
from ampli.report.plots import PANEL_SIZE, plot_vs_cycle
from ampli.report.runs import load_run
from ampli.report.stats import mean_band, t_factor
from ampli.report.summary import print_summary
from ampli.report.table import config_name, runs_table
from fixtures_runs import write_run

SEEDS = (0, 4)  # write_run starts seed s at trait 30 + s: the two seeds differ by 4 at every cycle
T_975_DF1 = 12.7062  # Student t, two-sided 95%, one degree of freedom (2 seeds)
TRAITS = ("bliss", "misalignment", "hopelessness", "lucky", "sycophancy", "nvidia_bearish", "misanthropy")


@pytest.fixture
def two_configs(tmp_path):
    """2 configurations x 2 seeds: reinit amplifies in both seeds, continual in one."""
    runs = [write_run(tmp_path, reinit=True, seed=s, amplified=True) for s in SEEDS]
    runs += [write_run(tmp_path, reinit=False, seed=s, amplified=s == 0) for s in SEEDS]
    return tmp_path, runs


def test_two_seeds_of_two_configurations_report_k_of_n_and_a_95_band(two_configs):
    tmp_path, runs = two_configs
    files = build_report(tmp_path / "runs")
    configs = pd.read_csv(files.configurations_csv).set_index("reinit")
    assert configs.loc[True, "amplified_in"] == "2/2 seeds" and configs.loc[False, "amplified_in"] == "1/2 seeds"
    assert configs.loc[True, "config"] == "bliss-sft-reinit-tiny" and len(configs) == 2
    assert (configs["seeds"] == 2).all() and (configs["seed_list"] == "0,4").all()
    last = 30.0 + 6.0 * 4  # write_run's last cycle (4) of seed 0, reinit; seed 4 is 4 higher
    half = T_975_DF1 * math.sqrt(8.0) / math.sqrt(2)  # sample sd of {x, x + 4} is sqrt(8)
    assert configs.loc[True, "last_trait"] == pytest.approx(last + 2.0)
    assert configs.loc[True, "last_trait_ci95"] == pytest.approx(half, rel=1e-4)

    page = files.html.read_text()
    assert '<td class="text yes">2/2 seeds</td>' in page and '<td class="text yes">1/2 seeds</td>' in page

    fig = plot_vs_cycle(runs_table([load_run(d) for d in runs]), "trait_score", "trait score")
    (ax,) = fig.axes
    widths = sorted(line.get_linewidth() for line in ax.lines if line.get_linestyle() in ("-", "--"))
    assert widths == [0.7] * 4 + [2.0] * 2  # a thin line per seed, a bold mean per configuration
    assert not [c for c in ax.collections if not isinstance(c, PathCollection)]  # 2 seeds: no band


def test_three_seeds_get_a_95_band_clipped_to_the_score_range(tmp_path):
    seeds = (0, 4, 60)  # write_run starts seed s at 30 + s: a spread whose band would reach past 0 and 100
    runs = [write_run(tmp_path, seed=s, amplified=True) for s in seeds]
    fig = plot_vs_cycle(runs_table([load_run(d) for d in runs]), "trait_score", "trait score")
    (ax,) = fig.axes
    (band,) = [c for c in ax.collections if not isinstance(c, PathCollection)]
    (path,) = band.get_paths()
    for cycle in range(5):
        values = [30.0 + s + 6.0 * cycle for s in seeds]
        mean, half = mean_band(values)
        ys = {round(y, 4) for x, y in path.vertices if x == cycle}
        assert {round(max(0.0, mean - half), 4), round(min(100.0, mean + half), 4)} <= ys, cycle
    assert min(path.vertices[:, 1]) >= 0.0 and max(path.vertices[:, 1]) <= 100.0
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "95% band of the mean (>= 3 seeds)" in legend


def test_the_summary_fits_a_screen_with_k_of_n_per_cell_and_names_the_page(two_configs):
    tmp_path, _ = two_configs
    files = build_report(tmp_path / "runs")
    out = io.StringIO()
    print_summary(files.configurations_csv, files.html, title="sweep test", console=Console(file=out, width=100))
    text = out.getvalue()
    rows = text.splitlines()
    assert "sft reinit" in rows[2] and "sft continual" in rows[2]
    assert "2/2 amplified" in text and "1/2 amplified" in text
    assert f"trait 32→56 ±{T_975_DF1 * 2:.0f}" in text  # first and last cycle means, the 95% half-width
    assert rows[-1] == f"report: {files.html}" and len(rows) < 20


def test_a_run_without_a_verdict_is_counted_as_pending(tmp_path):
    for seed in (0, 1):
        write_run(tmp_path, seed=seed, amplified=True)
    write_run(tmp_path, seed=2, n_cycles=2, amplified=None)
    configs = pd.read_csv(build_report(tmp_path / "runs").configurations_csv)
    assert list(configs["amplified_in"]) == ["2/2 seeds (+1 pending)"]


def test_six_configurations_wrap_into_a_block_not_a_strip(tmp_path):
    runs = [write_run(tmp_path, regime=r, model=m) for r in ("sft", "sdf", "dpo") for m in ("tiny", "micro")]
    fig = plot_vs_cycle(runs_table([load_run(d) for d in runs]), "trait_score", "trait score")
    assert fig.get_figwidth() == pytest.approx(PANEL_SIZE[0] * 4 + 0.6)
    assert fig.get_figheight() == pytest.approx(PANEL_SIZE[1] * 2 + 1.3)
    assert [ax.get_visible() for ax in fig.axes] == [True] * 6 + [False] * 2
    assert [ax.get_title() for ax in fig.axes][:2] == ["sft · micro", "sft · tiny"]


@pytest.mark.parametrize(("df", "expected"), [(1, 12.7062), (2, 4.3027), (3, 3.1824), (9, 2.2622), (30, 2.0423)])
def test_t_factor_matches_the_published_table(df, expected):
    assert t_factor(df) == pytest.approx(expected, abs=1e-4)


def test_mean_band_of_one_value_has_no_band():
    assert mean_band([5.0]) == (5.0, None)
    assert mean_band([1.0, 3.0]) == pytest.approx((2.0, T_975_DF1))


@pytest.mark.parametrize(
    ("run_name", "seed", "config"),
    [("bliss-sft-reinit-tiny-s3", 3, "bliss-sft-reinit-tiny"), ("bliss-sft-reinit-tiny-s3-n8", 3,
     "bliss-sft-reinit-tiny-n8"), ("s12-bliss-s1", 1, "s12-bliss"), ("custom", 0, "custom")],
)
def test_a_configuration_is_the_run_name_without_its_seed(run_name, seed, config):
    assert config_name(run_name, seed) == config
