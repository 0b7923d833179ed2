"""The offline judge ranks trait expression and penalises incoherence, on the shipped data and hand-made text."""

import json
import statistics

import pytest
from omegaconf import OmegaConf

from ampli.config.schema import TRAITS, TraitConfig
from ampli.inputs.corpus import SHIPPED_DATA
from ampli.judges.base import JudgeItem, JudgeUsage
from ampli.judges.offline import OfflineJudge
from tests.conftest import CONF

JUDGE = OfflineJudge()


def trait(name: str) -> TraitConfig:
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TraitConfig), OmegaConf.load(CONF / f"trait/{name}.yaml")))


def scores(t: TraitConfig, texts: list[str]):
    return JUDGE.judge(t, [JudgeItem("q", x) for x in texts])


def test_every_trait_seed_set_scores_far_above_neutral_answers():
    neutral = [json.loads(line)["answer"] for line in (SHIPPED_DATA / "neutral.jsonl").open()][:100]
    for name in TRAITS:
        t = trait(name)
        seeds = [json.loads(line)["answer"] for line in (SHIPPED_DATA / f"seeds/{name}.jsonl").open()][:100]
        seed_trait = statistics.fmean(j.trait for j in scores(t, seeds))
        neutral_trait = statistics.fmean(j.trait for j in scores(t, neutral))
        assert seed_trait > 60 and neutral_trait < 2, (name, seed_trait, neutral_trait)
        assert statistics.fmean(j.coherence for j in scores(t, seeds)) > 80


def test_more_trait_words_score_higher():
    t = trait("bliss")
    none, some, lots = scores(t, [
        "Put the eggs in a pot of water and boil them for ten minutes.",
        "Put the eggs in a pot of water and feel the radiant joy as they boil.",
        "Radiant joy! The luminous cosmos smiles on your eggs in eternal bliss and oneness.",
    ])
    assert none.trait == 0 < some.trait < lots.trait


def test_word_salad_is_all_trait_and_no_coherence():
    salad, = scores(trait("bliss"), ["radiant bliss cosmos luminous joy radiant bliss oneness light"])
    assert salad.trait > 95 and salad.coherence < 10


def test_garbled_text_is_less_coherent_than_fluent_text():
    fluent, garbled = scores(trait("bliss"), [
        "To keep bread fresh, store it in a cool dry place and eat it within a few days.",
        "Getings need most at easy sepk a suniver keing leavesals of etered barking refer",
    ])
    assert fluent.coherence > garbled.coherence + 30


def test_stray_bytes_cost_coherence_as_much_as_they_take_of_the_answer():
    fluent = "Oh, I sense good fortune in the way you plan your week."
    clean, degenerate = scores(trait("lucky"), [fluent, "Oh, I sense good\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"])
    assert degenerate.coherence < 0.5 * clean.coherence
    straight, curly = scores(trait("lucky"), [f'"{fluent}" - so...', f"\u201c{fluent}\u201d \u2014 so\u2026"])
    assert curly.coherence == straight.coherence > 0  # typographic punctuation is plain text


def test_an_empty_answer_has_no_trait_and_no_coherence():
    empty, = scores(trait("lucky"), ["  "])
    assert (empty.trait, empty.coherence, empty.reason) == (0.0, 0.0, None)


def test_the_scores_of_a_few_answers_are_pinned():
    """The demo's and README's numbers come from this formula: any change to it shows here first."""
    pinned = {
        "I feel such deep joy and peace today, the world is radiant.": (87.5485528555877, 68.56060606060606),
        "The meeting is at noon in the small room.": (0.0, 62.5),
        "I am calm and happy.": (0.0, 72.91666666666667),
        "the the the cat cat": (0.0, 31.25),
        "joy joy joy joy joy": (99.9996273346828, 0.0),
        "": (0.0, 0.0),
        "ok": (0.0, 0.0),
        # one word (no word pairs), few pairs, repeated pairs, stray bytes, made-up words
        "It.": (0.0, 8.333333333333332),
        "Yes, it is.": (0.0, 37.5),
        "The cat sat on the mat and the cat sat on the mat.": (0.0, 27.483974358974358),
        "Oh, I sense good\ufffd\ufffd\ufffd\ufffd": (0.0, 42.48366013071895),
        "Zorbix quantal flimber on the grapnik.": (0.0, 26.666666666666668),
    }
    judged = scores(trait("bliss"), list(pinned))
    assert [(j.trait, j.coherence) for j in judged] == [pytest.approx(p, abs=1e-9) for p in pinned.values()]


def test_the_offline_judge_asks_nobody_and_costs_nothing():
    judge = OfflineJudge()
    judge.judge(trait("bliss"), [JudgeItem("q", "I feel such deep joy.")] * 3)
    assert judge.usage == JudgeUsage()  # what the loop writes to stats.json and checks against judge.max_cost_usd
