"""The report's persona figures: Pearson r and its interval by hand, which cycles pair with which, and that a report
of probe=persona runs draws the three figures while one without them draws none."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from ampli.report import build_report
from ampli.report.persona import distinguishing_names, pearson, persona_figures, predicted_pairs, shift_pairs
from fixtures_runs import write_run

PERSONA_PLOTS = {"persona_vs_cycle", "persona_shift_vs_trait", "persona_predicted_vs_measured"}


def probed(run: dict, separates: bool = True) -> dict:
    """A run's metrics with probe fields: projection = trait / 100, shift = (trait - base) / 50, predicted = 0.1."""
    run["probe"] = {"name": "persona", "source": "seeds", "layer": 2, "separation": 3.0 if separates else 0.4,
                    "separates": separates, "n_vector": 48, "n_heldout": 16}
    run["base"]["persona_projection"] = run["base"]["trait"] / 100
    for c in run["cycles"]:
        previous = "base" if run["reinit"] or c["cycle"] == 0 else f"model_{c['cycle'] - 1}"
        c.update(persona_projection=c["trait"] / 100, persona_shift=(c["trait"] - run["base"]["trait"]) / 50,
                 persona_predicted_shift=0.1 * (c["cycle"] + 1), persona_predicted_from=previous)
    return run


def test_pearson_r_and_its_fisher_interval_by_hand():
    xs, ys = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2.0, 1.0, 4.0, 3.0, 7.0, 5.0]
    r, (low, high) = pearson(xs, ys)
    assert r == pytest.approx(statistics.correlation(xs, ys))
    half = 1.959963984540054 / math.sqrt(6 - 3)
    assert (low, high) == pytest.approx((math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)))
    assert pearson([1.0, 2.0], [1.0, 2.0]) is None  # too few pairs
    assert pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None  # a constant side has no correlation
    assert pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.5])[1] is None  # 3 pairs: r, no interval


def test_predicted_shift_pairs_with_the_change_from_the_model_the_cycle_started_from():
    run = {"reinit": False, "base": {"trait": 10.0, "persona_projection": 0.0},
           "cycles": [{"cycle": 0, "trait": 30.0, "persona_projection": 0.5, "persona_shift": 0.2,
                       "persona_predicted_shift": 0.4, "persona_predicted_from": "base"},
                      {"cycle": 1, "trait": 20.0, "persona_projection": 0.25, "persona_shift": 0.1,
                       "persona_predicted_shift": -0.1, "persona_predicted_from": "model_0"},
                      {"cycle": 2, "trait": 25.0, "persona_projection": None, "persona_shift": None,
                       "persona_predicted_shift": 0.3, "persona_predicted_from": "model_1"}]}
    assert predicted_pairs([run]) == [(0.4, 0.5, False), (-0.1, -0.25, False)]
    assert shift_pairs([run]) == [(0.2, 20.0, False), (0.1, 10.0, False)]


def rewrite(run_dir: Path, separates: bool = True) -> None:
    path = run_dir / "metrics.json"
    path.write_text(json.dumps(probed(json.loads(path.read_text()), separates)))


def test_a_report_of_probed_runs_draws_the_persona_figures_with_r(tmp_path: Path):
    runs = [write_run(tmp_path, reinit=reinit, seed=seed) for reinit in (True, False) for seed in (0, 1)]
    for run_dir in runs:
        rewrite(run_dir)
    files = build_report(tmp_path / "runs")
    assert PERSONA_PLOTS <= set(files.plots) and all(files.plots[p].stat().st_size > 0 for p in PERSONA_PLOTS)
    html = files.html.read_text()
    # The shift is the judge's change / 50 by construction: r = 1 over the 4 runs x 5 cycles.
    assert "Persona shift vs judge trait change, every cycle of every run: r = 1.00 (n=20)" in html


def test_no_persona_figures_without_a_separating_vector(tmp_path: Path):
    plain = write_run(tmp_path, seed=0)
    rewrite(write_run(tmp_path, seed=1), separates=False)
    assert not PERSONA_PLOTS & set(build_report(tmp_path / "runs").plots)
    assert persona_figures([json.loads((plain / "metrics.json").read_text())]) == ({}, {})


def test_panel_titles_keep_only_what_tells_the_runs_apart():
    grid = ["bliss-dpo-continual-smollm2-135m-s0-experiment=contrast_real",
            "lucky-dpo-reinit-smollm2-135m-s1-experiment=contrast_real"]
    assert distinguishing_names(grid) == ["bliss-continual-s0", "lucky-reinit-s1"]
    assert distinguishing_names(["bliss-dpo-continual-tiny-s0"]) == ["bliss-dpo-continual-tiny-s0"]  # a lone run
    assert distinguishing_names(["a-b", "a-b"]) == ["a-b", "a-b"]  # nothing tells them apart: whole names
