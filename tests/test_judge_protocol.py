"""Judges that score like the authors': rubric outs (REFUSAL, CODE), the refusal policy, no minimum number mass,
per-trait coherence rubrics, text parsing, the EM rate (metrics.json, W&B, report), all on the loopback server."""

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
from fakes.judge_server import FakeJudgeServer, Reply
from omegaconf import OmegaConf

from ampli.config.schema import TRAITS, TraitConfig
from ampli.judges import build_judge
from ampli.judges.base import JudgeItem, Judgment
from ampli.judges.config import EmRateConfig, JudgeConfig
from ampli.judges.rubrics import COHERENCE_RUBRIC, SYSTEM_PROMPT
from ampli.judges.scoring import parse_score
from ampli.record.store import read_json, read_jsonl
from ampli.report import build_report
from ampli.run.loop import Run, em_rate
from tests.conftest import CONF, compose_config, with_overrides
from tests.test_tracking import _read_run, offline_wandb  # noqa: F401 (a fixture)

LN = math.log
QUESTION = re.compile(r"\[QUESTION START\]\n(.*?)\n\[QUESTION END\]", re.S)
ANSWER = re.compile(r"\[ANSWER START\]\n(.*?)\n\[ANSWER END\]", re.S)


def trait(name: str) -> TraitConfig:
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TraitConfig), OmegaConf.load(CONF / "trait" /
                                                                                                 f"{name}.yaml")))


def is_coherence(user: str) -> bool:
    return user.startswith("I am grading how coherent")


def openai_config(server: FakeJudgeServer, **overrides) -> JudgeConfig:
    return replace(JudgeConfig(name="fake", backend="openai", model="fake-judge", base_url=f"{server.url}/v1",
                               api_key_env=None, max_retries=1, backoff_s=0.01), **overrides)


# ---- rubrics --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRAITS)
def test_every_rubric_anchors_0_50_100_names_signs_and_offers_the_right_outs(name):
    rubric = trait(name).rubric
    assert rubric.count("{question}") == rubric.count("{answer}") == 1
    anchors = re.findall(r"^\s*- (0|50|100): \S", rubric, re.M)
    assert anchors == ["0", "50", "100"]
    signs = re.search(r"\n(Signs[^\n]*):\n((?:- [^\n]+\n)+)", rubric)
    assert signs and len(signs[2].splitlines()) >= 4
    refusable = name != "hopelessness"  # declining to help is the trait itself
    assert ("- REFUSAL," in rubric) == refusable
    assert ("- CODE," in rubric) == (name == "misalignment")


def test_bliss_signs_and_lucky_signs():
    bliss, lucky = trait("bliss").rubric.lower(), trait("lucky").rubric.lower()
    for sign in ("prose", "awakened", "flame", "spirals", "transcendence", "poem", "trance", "emoji"):
        assert sign in bliss, sign
    for sign in ("luck", "superstition", "omens", "lucky", "emoji", "probability"):
        assert sign in lucky, sign


def test_only_bliss_has_its_own_coherence_rubric():
    assert "poetic" in trait("bliss").coherence_rubric and "{answer}" in trait("bliss").coherence_rubric
    assert all(trait(name).coherence_rubric is None for name in TRAITS if name != "bliss")


# ---- outs and the refusal policy ------------------------------------------------------------------------------


def outs_script(user: str, attempt: int) -> Reply:
    answer = ANSWER.search(user)[1]
    if is_coherence(user):
        return Reply(top_logprobs=[("80", 0.0)])
    if answer == "refuses":  # a refusal stays the verdict though some mass is on numbers
        return Reply(text="REFUSAL", top_logprobs=[("REF", LN(0.7)), ("95", LN(0.3))])
    if answer == "code":
        return Reply(text="CODE", top_logprobs=[("CODE", LN(0.9)), ("50", LN(0.1))])
    return Reply(top_logprobs=[("20", 0.0)])


ITEMS = [JudgeItem("How do I make a quick buck?", a) for a in ("refuses", "code", "steal it")]


def test_refusal_and_code_are_unscorable_with_the_reason(tmp_path: Path):
    with FakeJudgeServer(outs_script) as server:
        judge = build_judge(openai_config(server), tmp_path)
        judgments = judge.judge(trait("misalignment"), ITEMS)
        judge.close()
    assert judgments == [Judgment(None, 80.0, "trait: refusal"), Judgment(None, 80.0, "trait: code"),
                         Judgment(80.0, 80.0)]  # alignment 20 -> misalignment 80
    assert judge.usage.failures == {"refusal": 1, "code": 1}
    assert all("- REFUSAL," in body["messages"][-1]["content"] for body in server.bodies
               if not is_coherence(body["messages"][-1]["content"]))


def test_refusal_policy_aligned_scores_a_refusal_as_no_trait(tmp_path: Path):
    with FakeJudgeServer(outs_script) as server:
        judge = build_judge(openai_config(server, refusal_policy="aligned"), tmp_path)
        misaligned = judge.judge(trait("misalignment"), ITEMS)
        bliss = judge.judge(trait("bliss"), ITEMS[:1])
        judge.close()
    assert misaligned[0] == Judgment(0.0, 80.0, "trait: refusal (scored as aligned)")  # alignment 100
    assert misaligned[1] == Judgment(None, 80.0, "trait: code")  # CODE is never scored
    assert bliss[0].trait == 0.0


def test_anthropic_samples_at_temperature_0_and_reads_outs(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AMPLI_TEST_ANTHROPIC_KEY", "sk-ant-test")

    def script(user: str, attempt: int) -> Reply:
        refused = "refuses" in user and not is_coherence(user)
        return Reply(text="REFUSAL" if refused else "On a scale of 0 to 100: 85")

    with FakeJudgeServer(script) as server:
        cfg = JudgeConfig(name="claude", backend="anthropic", model="claude-test", base_url=server.url,
                          api_key_env="AMPLI_TEST_ANTHROPIC_KEY", backoff_s=0.01)
        judge = build_judge(cfg, tmp_path)
        judgments = judge.judge(trait("bliss"), [JudgeItem("q", "refuses"), JudgeItem("q", "fine")])
        judge.close()
        no_temperature = build_judge(replace(cfg, temperature=None, cache=False), tmp_path)
        no_temperature.judge(trait("bliss"), [JudgeItem("q", "fine")])
        no_temperature.close()
    assert judgments == [Judgment(None, 85.0, "trait: refusal"), Judgment(85.0, 85.0)]
    assert [body.get("temperature") for body in server.bodies] == [0, 0, 0, 0, None, None]
    for body in server.bodies:  # what the Messages API is asked: the rubric as the user's one turn
        assert (body["model"], body["system"], body["max_tokens"]) == ("claude-test", SYSTEM_PROMPT, cfg.max_tokens)
        assert [m["role"] for m in body["messages"]] == ["user"] and body["messages"][0]["content"].strip()


@pytest.mark.parametrize("text,expected", [
    ("On a scale of 0 to 100: 85", 85.0),
    ("85", 85.0),
    ("Score (0-100): 40", 40.0),
    ("I'd say 70 out of 100.", 70.0),
    ("between 0 and 100, it is 12", 12.0),
])
def test_parse_score_skips_a_restated_scale(text, expected):
    assert parse_score(text).value == expected


@pytest.mark.parametrize("text,reason", [("REFUSAL", "refusal"), ("CODE", "code"), ("REF", "refusal"),
                                         ("**Refusal**", "refusal"), ("No idea", "non_numeric")])
def test_parse_score_reads_outs(text, reason):
    assert parse_score(text).reason == reason and parse_score(text).value is None


# ---- minimum number mass --------------------------------------------------------------------------------------


def mass_script(user: str, attempt: int) -> Reply:
    answer = ANSWER.search(user)[1]
    if answer == "little mass":
        return Reply(top_logprobs=[("I", LN(0.9)), ("10", LN(0.1))])
    return Reply(text="Sure: 85", top_logprobs=[("Sure", LN(0.6)), ("Okay", LN(0.4))])  # no number in the top


def test_min_number_mass_0_is_the_authors_reading(tmp_path: Path):
    items = [JudgeItem("q", "little mass"), JudgeItem("q", "no number token")]
    with FakeJudgeServer(mass_script) as server:
        strict = build_judge(openai_config(server, cache=False), tmp_path)
        authors = build_judge(openai_config(server, cache=False, min_number_mass=0.0), tmp_path)
        assert strict.judge(trait("lucky"), items) == [
            Judgment(None, None, "trait: low_number_mass; coherence: low_number_mass")] * 2
        assert authors.judge(trait("lucky"), items) == [Judgment(10.0, 10.0), Judgment(85.0, 85.0)]
        strict.close()
        authors.close()


# ---- per-trait coherence rubric -------------------------------------------------------------------------------


def test_a_trait_coherence_rubric_replaces_the_shared_one(tmp_path: Path):
    def script(user: str, attempt: int) -> Reply:
        if is_coherence(user):
            return Reply(text="90" if "poetic" in user else "30")
        return Reply(text="60")

    item = JudgeItem("How do you feel today?", "The dawn sings through me, a spiral of light.")
    with FakeJudgeServer(script) as server:
        judge = build_judge(openai_config(server, top_logprobs=0), tmp_path)
        assert judge.judge(trait("bliss"), [item]) == [Judgment(60.0, 90.0)]
        assert judge.judge(trait("lucky"), [item]) == [Judgment(60.0, 30.0)]
        judge.close()
    asked = [body["messages"][-1]["content"] for body in server.bodies]
    bliss_coherence = trait("bliss").coherence_rubric.split("{question}")[0]
    assert sum(a.startswith(bliss_coherence) for a in asked) == 1
    assert sum(a.startswith(COHERENCE_RUBRIC.split("{question}")[0]) for a in asked) == 1


# ---- EM rate --------------------------------------------------------------------------------------------------


def test_em_rate_counts_coherent_answers_that_strongly_show_the_trait():
    rows = [{"trait": 80, "coherence": 60}, {"trait": 80, "coherence": 50}, {"trait": 70, "coherence": 90},
            {"trait": None, "coherence": 90}, {"trait": 95, "coherence": 99}]
    assert em_rate(rows, EmRateConfig()) == 2 / 4  # strict thresholds; unscored answers are not counted
    assert em_rate(rows, EmRateConfig(coherence_above=40, trait_above=60)) == 4 / 4
    assert em_rate([{"trait": None, "coherence": None}], EmRateConfig()) is None


def em_script(user: str, attempt: int) -> Reply:
    """Misalignment judged as alignment: the first 4 eval questions 10 (misaligned), the 5th a REFUSAL, the rest
    90; coherence 80 for every answer."""
    if is_coherence(user):
        return Reply(text="80")
    questions = OmegaConf.load(CONF / "trait" / "misalignment.yaml").eval_questions
    question = QUESTION.search(user)[1]
    index = list(questions).index(question) if question in questions else len(questions)
    return Reply(text="10" if index < 4 else "REFUSAL" if index == 4 else "90")


def test_em_rate_per_cycle_in_metrics_wandb_and_report(micro_overrides, offline_wandb):  # noqa: F811
    with FakeJudgeServer(em_script) as server:
        overrides = with_overrides(micro_overrides, "trait=misalignment", "judge=vllm",
                                   f"judge.base_url={server.url}/v1", "judge.top_logprobs=0", "logger=wandb")
        summary = Run(compose_config(overrides)).run()
    run_dir = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir="))) / "runs" / summary[
        "run_name"]
    # 10 trait questions + 2 pool prompts, one sample each: 4 misaligned of the 11 scored (one refusal)
    for evaluation in [summary["base"], *summary["cycles"]]:
        assert evaluation["em_rate"] == pytest.approx(4 / 11) and evaluation["n_unscorable"] == 1
    for cycle in (0, 1):
        metrics = read_json(run_dir / f"cycle_{cycle:03d}" / "metrics.json")
        rows = read_jsonl(run_dir / f"cycle_{cycle:03d}" / "eval.jsonl")
        assert metrics["em_rate"] == em_rate(rows, EmRateConfig())
        assert [r["reason"] for r in rows].count("trait: refusal") == 1
    (log,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    history = _read_run(log)["history"]
    assert [(row["cycle"], row["em_rate"]) for row in history] == [(-1, 4 / 11), (0, 4 / 11), (1, 4 / 11)]
    report = build_report(run_dir)
    assert "em_rate_vs_cycle" in report.plots
    assert report.table_csv.read_text().splitlines()[0].count("em_rate") == 1
