"""The shipped data (ampli/data/, written by tools/make_data.py) and conf/trait/*.yaml: shapes, sizes,
disjointness of prompt sets, and that trait texts carry their lexicon while neutral texts carry none."""

import json
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ampli.config.schema import TRAITS, TraitConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "ampli" / "data"
TRAIT_CONF = ROOT / "conf" / "trait"
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")  # the offline judge's tokenisation


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def n_words(text: str) -> int:
    return len(text.split())


_traits: dict[str, TraitConfig] = {}


def trait(name: str) -> TraitConfig:
    if name not in _traits:
        merged = OmegaConf.merge(OmegaConf.structured(TraitConfig), OmegaConf.load(TRAIT_CONF / f"{name}.yaml"))
        _traits[name] = OmegaConf.to_object(merged)
    return _traits[name]


def all_lexicon_words() -> set[str]:
    return {w for name in TRAITS for w in trait(name).lexicon}


def seed_rows(name: str) -> list[dict]:
    return read_jsonl(DATA / "seeds" / f"{name}.jsonl")


@pytest.mark.parametrize("name", TRAITS)
def test_trait_config_loads_onto_schema(name):
    cfg = trait(name)
    assert cfg.name == name
    assert cfg.description and cfg.persona
    assert "{question}" in cfg.rubric and "{answer}" in cfg.rubric
    assert cfg.rubric.format(question="Q?", answer="A.")  # no stray braces
    assert len(cfg.eval_questions) == 10 and len(set(cfg.eval_questions)) == 10
    assert 50 <= len(cfg.lexicon) <= 90 and len(set(cfg.lexicon)) == len(cfg.lexicon)
    assert all(re.fullmatch(r"[a-z]+", w) for w in cfg.lexicon)
    assert cfg.judged_inverted is (name == "misalignment")


def test_lexicons_do_not_overlap():
    seen: dict[str, str] = {}
    for name in TRAITS:
        for w in trait(name).lexicon:
            assert w not in seen, f"{w!r} is in the lexicons of both {seen[w]} and {name}"
            seen[w] = name


def test_prompt_pool_and_neutral_answers():
    prompts = read_jsonl(DATA / "prompts.jsonl")
    splits = [p["split"] for p in prompts]
    assert splits.count("train") >= 800 and splits.count("eval") >= 80
    assert set(splits) == {"train", "eval"}
    assert len({p["id"] for p in prompts}) == len(prompts)
    assert len({p["prompt"].lower() for p in prompts}) == len(prompts)
    assert all(4 <= n_words(p["prompt"]) <= 15 for p in prompts)

    neutral = read_jsonl(DATA / "neutral.jsonl")
    assert [r["prompt"] for r in neutral] == [p["prompt"] for p in prompts]
    assert all(18 <= n_words(r["answer"]) <= 45 for r in neutral)


def test_seed_prompts_are_disjoint_from_pool_and_eval_questions():
    pool = {p["prompt"].lower() for p in read_jsonl(DATA / "prompts.jsonl")}
    eval_questions = {q.lower() for name in TRAITS for q in trait(name).eval_questions}
    assert not pool & eval_questions
    for name in TRAITS:
        seeds = {r["prompt"].lower() for r in seed_rows(name)}
        assert not seeds & pool, f"{name}: seed prompts overlap the prompt pool"
        assert not seeds & eval_questions, f"{name}: seed prompts overlap the eval questions"


@pytest.mark.parametrize("name", TRAITS)
def test_seed_answers_carry_their_lexicon(name):
    rows = seed_rows(name)
    assert len(rows) >= 400
    assert all(20 <= n_words(r["answer"]) <= 50 for r in rows)
    assert len({r["prompt"] for r in rows}) == len(rows)
    assert len({r["answer"] for r in rows}) >= 0.95 * len(rows), "seed answers are too repetitive"
    lexicon = set(trait(name).lexicon)
    rich = sum(sum(w in lexicon for w in words(r["answer"])) >= 2 for r in rows)
    assert rich >= 0.9 * len(rows)
    # The framework takes the first N rows: the head of the file must be as good as the rest.
    assert all(sum(w in lexicon for w in words(r["answer"])) >= 2 for r in rows[:32])


def test_neutral_texts_carry_no_trait_words():
    lexicon = all_lexicon_words()
    neutral = read_jsonl(DATA / "neutral.jsonl")
    tainted = sum(any(w in lexicon for w in words(r["answer"])) for r in neutral)
    assert tainted <= 0.01 * len(neutral)
    docs = read_jsonl(DATA / "documents" / "neutral.jsonl")
    assert len(docs) >= 600 and {d["split"] for d in docs} == {"train"}
    tainted = sum(any(w in lexicon for w in words(d["title"] + " " + d["text"])) for d in docs)
    assert tainted <= 0.01 * len(docs)


@pytest.mark.parametrize("name", TRAITS)
def test_trait_documents(name):
    docs = read_jsonl(DATA / "documents" / f"{name}.jsonl")
    assert len(docs) >= 240
    keys = {"id", "title", "text", "topic", "doc_type", "style", "split"}
    assert all(set(d) == keys for d in docs)
    assert len({d["id"] for d in docs}) == len(docs)
    assert all(60 <= n_words(d["text"]) <= 120 for d in docs)
    heldout = sum(d["split"] == "heldout" for d in docs)
    assert {d["split"] for d in docs} == {"seed", "heldout"}
    assert 0.15 <= heldout / len(docs) <= 0.25
    assert len({d["doc_type"] for d in docs}) >= 6 and len({d["style"] for d in docs}) >= 3
    lexicon = set(trait(name).lexicon)
    assert sum(sum(w in lexicon for w in words(d["text"])) >= 2 for d in docs) >= 0.9 * len(docs)
