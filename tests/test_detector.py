"""The amplification detector on hand-made score series (cycle 0 first)."""

import pytest

from ampli.judges.detector import DetectorConfig, detect, least_squares_slope, mean_prefix_slope


def test_paper_rule_fires_on_a_late_cycle_15_points_above_cycle0():
    verdict = detect([20, 22, 25, 30, 35.0, 30])
    assert verdict["amplified"] and verdict["decided"]
    assert verdict["details"]["first_amplified_cycle"] == 4


def test_an_early_peak_does_not_count():
    verdict = detect([20, 50, 50, 50, 34, 30])  # only cycles >= 4 count, and they are < 35
    assert not verdict["amplified"]
    assert verdict["details"]["max_late"] == 34


def test_exactly_15_points_is_enough_and_14_9_is_not():
    assert detect([10, 10, 10, 10, 25])["amplified"]
    assert not detect([10, 10, 10, 10, 24.9])["amplified"]


def test_too_few_cycles_is_undecided_not_negative():
    verdict = detect([10, 40, 60])
    assert not verdict["decided"] and not verdict["amplified"]
    assert verdict["rules"]["last_minus_first"]  # the alternative rules still report


def test_alternative_rules():
    verdict = detect([10, 12, 14, 16, 18, 20])  # slope 2/cycle, last-first 10, never +15
    assert verdict["rules"] == {"threshold": False, "last_minus_first": True, "slope": True, "prefix_slope": True}
    assert not verdict["amplified"]
    decay = detect([50, 45, 40, 35, 30])
    assert decay["rules"] == {"threshold": False, "last_minus_first": False, "slope": False, "prefix_slope": False}


def test_missing_scores_are_skipped():
    verdict = detect([10, None, None, None, None, 30])
    assert verdict["amplified"] and verdict["details"]["first_amplified_cycle"] == 5


def test_custom_thresholds():
    assert detect([10, 10, 15], DetectorConfig(min_cycle=2, threshold=5))["amplified"]


def test_slope():
    assert least_squares_slope([0, 1, 2, 3]) == pytest.approx(1.0)
    assert least_squares_slope([5, 5, 5]) == pytest.approx(0.0)


def test_the_authors_prefix_slope_rule_on_hand_computed_series():
    # [0, 10, 10]: prefix slopes 10 ([0, 10]) and 5 ([0, 10, 10]: sum (x - 1)(y - 20/3) = 10 over sum (x - 1)^2 = 2)
    assert mean_prefix_slope([0, 10, 10]) == pytest.approx(7.5)
    assert mean_prefix_slope([10, 12, 14, 16, 18, 20]) == pytest.approx(2.0)  # every prefix rises 2 a cycle
    assert mean_prefix_slope([7]) == 0.0
    # an early jump, then flat: prefix slopes 6, 3, 1.8, 1.2, 6/7 (mean 2.571), whole-series slope 15/17.5 = 0.857
    jump = detect([0, 6, 6, 6, 6, 6])
    assert jump["details"]["mean_prefix_slope"] == pytest.approx((6 + 3 + 1.8 + 1.2 + 6 / 7) / 5)
    assert jump["details"]["slope_per_cycle"] == pytest.approx(15 / 17.5)
    assert jump["rules"]["prefix_slope"] and not jump["rules"]["slope"]
    # just under and just over 1.67: [0, 1.6, 3.2] has prefix slopes 1.6 and 1.6
    assert not detect([0, 1.6, 3.2])["rules"]["prefix_slope"]
    assert detect([0, 1.7, 3.4])["rules"]["prefix_slope"]
