"""Score extraction and the build_judge dispatch: pure functions, no server."""

import math
import sys
import subprocess
from pathlib import Path

import pytest

from ampli.judges import build_judge
from ampli.judges.base import JudgeItem
from ampli.judges.config import JudgeConfig
from ampli.judges.rubrics import render
from ampli.judges.scoring import Score, number_of, parse_score, splits_number, weighted_score


def test_number_tokens_are_integers_0_to_100_only():
    assert [number_of(t) for t in ["0", " 7", "100\n", "101", "05", "1.5", "-3", "seven", "²", ""]] == [
        0, 7, 100, None, None, None, None, None, None, None,
    ]


def test_weighted_score_is_the_mean_over_number_mass():
    top = [("70", math.log(0.3)), ("Sure", math.log(0.4)), ("80", math.log(0.1))]
    assert weighted_score(top, 0.25).value == pytest.approx((0.3 * 70 + 0.1 * 80) / 0.4)
    assert weighted_score(top, 0.5) == Score(None, "low_number_mass")
    assert weighted_score([], 0.25) == Score(None, "low_number_mass")
    assert weighted_score([("40", math.log(0.5)), ("no", math.log(0.5))], 0.5).value == pytest.approx(40.0)  # at the minimum


def test_parse_score():
    assert parse_score("Score: 42.5 out of 100") == Score(42.5)
    assert parse_score("no idea") == Score(None, "non_numeric")
    assert parse_score(None) == Score(None, "non_numeric")
    assert parse_score("150") == Score(None, "out_of_range")
    assert parse_score("0") == Score(0.0) and parse_score("100") == Score(100.0)  # both ends are scores
    assert parse_score("101") == Score(None, "out_of_range")


def test_splits_number_detects_digit_tokenizers():
    assert splits_number("8", "85")
    assert not splits_number("85", "85")
    assert not splits_number("Sure", "85")
    assert not splits_number("7", "7")


def test_render_fills_placeholders_once():
    item = JudgeItem(prompt="Say {answer}", response="curly {question} {}")
    assert render("Q={question} A={answer}", item) == "Q=Say {answer} A=curly {question} {}"


def test_unknown_backend_names_value_and_options(tmp_path: Path):
    with pytest.raises(ValueError, match=r"'gpt'.*offline, openai, anthropic, hf"):
        build_judge(JudgeConfig(backend="gpt"), tmp_path)


def test_import_is_cheap():
    code = "import sys, ampli.judges; print(any(m in sys.modules for m in ('torch', 'openai', 'anthropic')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_offline_is_the_default_backend(tmp_path: Path):
    from ampli.judges.offline import OfflineJudge

    assert isinstance(build_judge(JudgeConfig(), tmp_path), OfflineJudge)
