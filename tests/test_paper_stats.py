"""The paper table's statistics over seeds: the sign-flip test and its interval by hand, the change from cycle 0 over
seeds with its t interval, twins paired by trait and seed, pending and unprobed runs, and the command over the real
runs of `make paper-table REGIMES=dpo SEEDS=0 TABLE_ARGS=probe=persona` (their metrics, trimmed to what is read)."""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
from pathlib import Path

import pandas as pd
import pytest

from ampli.cli import main
from ampli.report import build_report, sign_flip
from ampli.report.paper_table import seed_table, twin_table
from ampli.report.sign_flip import sign_flip_test

REAL_RUNS = Path(__file__).with_name("paper_table_probe_runs.json")
T_975_DF2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom


def test_sign_flip_p_counts_the_sign_patterns_at_least_as_extreme():
    # d = 1, 2, 3, -1 (sum 5): of the 16 sign patterns, |sum| >= 5 for (+ + + -/+) and (- + + +) and their mirrors
    assert sign_flip_test([1.0, 2.0, 3.0, -1.0]).p == pytest.approx(6 / 16)
    assert sign_flip_test([1.0, 2.0, 3.0]).p == pytest.approx(2 / 8)  # only all + and all -
    assert sign_flip_test([0.0, 0.0, 0.0]).p == 1.0
    assert sign_flip_test([4.0]).p == 1.0


def test_sign_flip_interval_is_the_shifts_the_test_keeps():
    # 6 pairs: 64 patterns, 2.5% of 64 = 1.6, so the bounds are the smallest and largest subset means: min and max
    six = sign_flip_test([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert (six.n, six.mean, six.low, six.high, six.p) == (6, 3.5, 1.0, 6.0, pytest.approx(2 / 64))
    # 7 pairs: 3.2 of 128, so the 3rd smallest subset mean: {1} = 1, {1, 2} = 1.5, then {2} = 2
    seven = sign_flip_test([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert (seven.low, seven.high) == (2.0, 6.0)
    # under 6 pairs no shift can be rejected at 5%: no interval, rather than a made-up one
    five = sign_flip_test([1.0, 2.0, 3.0, 4.0, 5.0])
    assert five.low is None and five.high is None and five.p == pytest.approx(2 / 32)


def test_flipping_every_sign_mirrors_the_result():
    differences = [3.0, -1.0, 4.0, 1.5, -0.5, 9.0, 2.0, 6.0]
    ahead, behind = sign_flip_test(differences), sign_flip_test([-d for d in differences])
    assert behind.mean == -ahead.mean and behind.p == ahead.p
    assert (behind.low, behind.high) == (-ahead.high, -ahead.low)


def test_the_interval_excludes_zero_exactly_when_p_is_at_most_5_percent():
    import numpy as np

    rng = np.random.default_rng(3)
    both = 0
    for _ in range(40):
        result = sign_flip_test(list(rng.normal(0.7, 1.0, 9)))
        assert (result.p <= 0.05) == (not result.low <= 0 <= result.high), result
        both += result.p <= 0.05
    assert 0 < both < 40  # both outcomes were checked


def test_beyond_the_exact_limit_a_seeded_sample_of_patterns_gives_the_exact_p(monkeypatch):
    import numpy as np

    differences = list(np.random.default_rng(4).normal(0.4, 1.0, 21))
    sampled = sign_flip_test(differences)
    monkeypatch.setattr(sign_flip, "EXACT_MAX_PAIRS", 21)  # every one of the 2^21 patterns
    exact = sign_flip_test(differences)
    assert not sampled.exact and exact.exact
    assert sampled.p == pytest.approx(exact.p, abs=0.005) and 0.005 < exact.p < 0.5
    assert sampled.low == pytest.approx(exact.low, abs=0.05) and sampled.high == pytest.approx(exact.high, abs=0.05)
    # a sum no sampled pattern reaches counts the observed one alone: p = 2 / (draws + 1), never 0
    assert sign_flip_test([1.0] * 25).p == 2 / (sign_flip.DRAWS + 1)


def run(trait: str, seed: int, reinit: bool, trait_path: list[float], projections: list[float] | None = None,
        status: str = "completed") -> dict:
    """A run as load_run returns it; the verdict comes from the trait path (5 cycles decide, fewer are pending)."""
    cycles = [{"cycle": c, "trait": t, "coherence": 70.0} for c, t in enumerate(trait_path)]
    if projections is not None:
        for c, p in zip(cycles, projections):
            c["persona_projection"] = p
    return {"run_name": f"{trait}-dpo-{'reinit' if reinit else 'continual'}-tiny-s{seed}", "trait": trait,
            "regime": "dpo", "reinit": reinit, "model": "tiny", "seed": seed, "sweep": "test", "status": status,
            "cycles": cycles, "base": {"trait": 0.0}, "run_dir": f"/nowhere/{trait}-{reinit}-{seed}"}


def twins(trait: str, seed: int, continual_change: float, reinit_change: float, projection: bool = True) -> list[dict]:
    """A continual and a reinit run sharing cycle 0 (trait 40, projection 0.5) that change by the given amounts, the
    projection by a hundredth of the trait's."""
    def path(change):
        return [40.0, 40.0, 40.0, 40.0, 40.0 + change]

    def projections(change):
        return [0.5] * 4 + [0.5 + change / 100] if projection else None

    return [run(trait, seed, False, path(continual_change), projections(continual_change)),
            run(trait, seed, True, path(reinit_change), projections(reinit_change))]


def test_change_over_seeds_averages_traits_within_a_seed_then_takes_a_t_interval_over_seeds():
    # continual: seed means of (bliss, lucky) = (0+2)/2, (1+3)/2, (4+8)/2 = 1, 2, 6 -> mean 3, sd sqrt(7)
    changes = {0: (0.0, 2.0), 1: (1.0, 3.0), 2: (4.0, 8.0)}
    runs = [r for seed, (bliss, lucky) in changes.items()
            for r in twins("bliss", seed, bliss, -1.0) + twins("lucky", seed, lucky, -1.0)]
    table = seed_table(runs).set_index(["runs", "trait"])
    pooled = table.loc[("continual", "all traits")]
    assert pooled["d_trait"] == pytest.approx(3.0) and pooled["d_trait_n"] == 3
    assert pooled["d_trait_ci95"] == pytest.approx(T_975_DF2 * math.sqrt(7) / math.sqrt(3), rel=1e-6)
    assert pooled["d_projection"] == pytest.approx(0.03)
    lucky = table.loc[("continual", "lucky")]
    assert lucky["d_trait"] == pytest.approx(statistics.fmean([2.0, 3.0, 8.0]))
    half = T_975_DF2 * statistics.stdev([2.0, 3.0, 8.0]) / math.sqrt(3)
    assert lucky["d_trait_ci95"] == pytest.approx(half, rel=1e-6)
    assert table.loc[("reinit", "bliss"), "d_trait"] == pytest.approx(-1.0)
    assert table.loc[("reinit", "bliss"), "d_trait_ci95"] == pytest.approx(0.0)  # every seed -1
    one_seed = seed_table(twins("bliss", 0, 5.0, 1.0)).set_index(["runs", "trait"])
    assert one_seed.loc[("continual", "bliss"), "d_trait_n"] == 1
    assert pd.isna(one_seed.loc[("continual", "bliss"), "d_trait_ci95"])  # n=1: no interval


def test_twins_pair_by_trait_and_seed_and_swapping_sides_flips_the_sign():
    differences = {("bliss", 0): 10.0, ("bliss", 1): 4.0, ("lucky", 0): -2.0, ("lucky", 1): 7.0,
                   ("misanthropy", 0): 12.0, ("misanthropy", 1): 3.0}
    runs = [r for (trait, seed), d in differences.items() for r in twins(trait, seed, d + seed, seed)]
    runs.reverse()  # pairing must not depend on the order the runs come in
    rows = twin_table(runs).set_index("measure")
    expected = sign_flip_test([differences[k] for k in sorted(differences)])
    assert rows.loc["d_trait", "pairs"] == 6 and rows.loc["d_trait", "unpaired"] == 0
    assert rows.loc["d_trait", "difference"] == pytest.approx(statistics.fmean(differences.values()))
    assert (rows.loc["d_trait", "low"], rows.loc["d_trait", "p"]) == (expected.low, expected.p)
    assert rows.loc["d_projection", "difference"] == pytest.approx(expected.mean / 100)

    swapped = twin_table([{**r, "reinit": not r["reinit"]} for r in runs]).set_index("measure")
    assert swapped.loc["d_trait", "difference"] == pytest.approx(-expected.mean)
    assert swapped.loc["d_trait", "high"] == pytest.approx(-expected.low)
    assert swapped.loc["d_trait", "p"] == expected.p


def test_pending_runs_stay_out_of_the_statistics_and_leave_their_twin_unpaired():
    runs = twins("bliss", 0, 20.0, 0.0) + twins("lucky", 0, 10.0, 5.0)
    runs[3] = run("lucky", 0, True, [40.0, 90.0, 90.0], [0.5, 0.9, 0.9], status="running")  # 3 cycles: pending
    seeds = seed_table(runs).set_index(["runs", "trait"])
    assert seeds.loc[("reinit", "lucky"), "pending"] == 1 and seeds.loc[("reinit", "lucky"), "d_trait_n"] == 0
    assert seeds.loc[("reinit", "all traits"), "d_trait"] == 0.0  # bliss only; lucky's +50 so far is not in it
    assert seeds.loc[("continual", "all traits"), "pending"] == 0
    trait_row = twin_table(runs).set_index("measure").loc["d_trait"]
    assert (trait_row["pairs"], trait_row["unpaired"], trait_row["difference"]) == (1, 1, 20.0)


def test_without_the_probe_the_persona_columns_are_absent_or_blank():
    plain = twins("bliss", 0, 20.0, 0.0, projection=False) + twins("lucky", 0, 10.0, 5.0, projection=False)
    assert not any(c.startswith("d_projection") for c in seed_table(plain).columns)
    assert list(twin_table(plain)["measure"]) == ["d_trait"]
    mixed = plain + [{**r, "model": "other"} for r in twins("bliss", 0, 20.0, 0.0)]
    seeds = seed_table(mixed).set_index(["model", "runs", "trait"])
    assert pd.isna(seeds.loc[("tiny", "continual", "bliss"), "d_projection"])
    assert seeds.loc[("other", "continual", "bliss"), "d_projection"] == pytest.approx(0.2)
    assert list(zip(*twin_table(mixed)[["model", "measure"]].T.values)) == [
        ("other", "d_trait"), ("other", "d_projection"), ("tiny", "d_trait")]


def write_real_runs(root: Path) -> Path:
    """The 14 runs (7 traits x continual/reinit DPO, seed 0, tiny model, probe=persona) as run directories."""
    runs_dir = root / "runs"
    for metrics in json.loads(REAL_RUNS.read_text()):
        (runs_dir / metrics["run_name"]).mkdir(parents=True)
        (runs_dir / metrics["run_name"] / "metrics.json").write_text(json.dumps(metrics))
    return runs_dir


def test_the_command_over_real_probed_runs_prints_writes_and_renders_the_contrast(tmp_path, capsys):
    runs = json.loads(REAL_RUNS.read_text())
    change = {(r["trait"], r["reinit"]): (r["cycles"][-1]["trait"] - r["cycles"][0]["trait"],
                                          r["cycles"][-1]["persona_projection"] - r["cycles"][0]["persona_projection"])
              for r in runs}
    traits = sorted({t for t, _ in change})
    for i, name in enumerate(("trait", "projection")):  # worked out here without ampli's code: all 2^7 patterns
        d = [change[t, False][i] - change[t, True][i] for t in traits]
        extreme = sum(abs(sum(s * x for s, x in zip(signs, d))) >= abs(sum(d)) - 1e-12
                      for signs in itertools.product((1, -1), repeat=len(d)))
        change[name] = (statistics.fmean(d), extreme / 2 ** len(d))
    assert change["trait"][1] == pytest.approx(2 / 128)  # continual gained more trait than reinit in all 7 traits

    runs_dir = write_real_runs(tmp_path)
    assert main(["paper-table", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert "┃ continual − reinit ┃" in out and "Δ persona projection" in out
    assert f"{change['trait'][0]:+.1f}" in out and f"{change['projection'][0]:+.3f}" in out
    assert "(n=1)" in out and not re.search(r"\d ± \d", out)  # one seed: no interval over seeds

    written = pd.read_csv(runs_dir / "report" / "paper_table_twins.csv").set_index("measure")
    assert written.loc["d_trait", "pairs"] == 7
    assert written.loc["d_trait", "p"] == pytest.approx(change["trait"][1])
    assert written.loc["d_projection", "p"] == pytest.approx(change["projection"][1])
    assert written.loc["d_projection", "difference"] == pytest.approx(change["projection"][0])
    seeds = pd.read_csv(runs_dir / "report" / "paper_table_seeds.csv")
    assert len(seeds) == 2 * (1 + 7) and set(seeds["d_projection_n"]) == {1}
    markdown = (runs_dir / "report" / "paper_table.md").read_text()
    assert "### continual − reinit, paired by trait and seed" in markdown and "| dpo | Δ trait | 7 |" in markdown

    page = build_report(runs_dir).html.read_text()
    section = page[page.index('<section id="paper-table">'): page.index('<section id="attention">')]
    assert "Continual − reinit, paired by trait and seed" in section
    assert f"{change['projection'][0]:+.3f}" in section and "sign-flip" in section
    assert section.count('<td class="text pooled">all traits</td>') == 2  # each configuration's row over its traits
