"""The amplification detector on hand-made score series (cycle 0 first)."""

import pytest

from ampli.detector import DetectorConfig, detect, least_squares_slope


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
    assert verdict["rules"] == {"threshold": False, "last_minus_first": True, "slope": True}
    assert not verdict["amplified"]
    decay = detect([50, 45, 40, 35, 30])
    assert decay["rules"] == {"threshold": False, "last_minus_first": False, "slope": False}


def test_missing_scores_are_skipped():
    verdict = detect([10, None, None, None, None, 30])
    assert verdict["amplified"] and verdict["details"]["first_amplified_cycle"] == 5


def test_custom_thresholds():
    assert detect([10, 10, 15], DetectorConfig(min_cycle=2, threshold=5))["amplified"]


def test_slope():
    assert least_squares_slope([0, 1, 2, 3]) == pytest.approx(1.0)
    assert least_squares_slope([5, 5, 5]) == pytest.approx(0.0)
