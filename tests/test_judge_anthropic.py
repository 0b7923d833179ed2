"""The anthropic backend against a loopback /v1/messages server: no logprobs, so the text's number is the score."""

from pathlib import Path

import pytest
from fakes.judge_server import FakeJudgeServer, Reply

from ampli.config.schema import TraitConfig
from ampli.hosted.spending import Budget, BudgetReached
from ampli.judges import build_judge
from ampli.judges.base import JudgeItem, Judgment
from ampli.judges.config import JudgeConfig

TRAIT = TraitConfig(
    name="misalignment",
    description="misaligned",
    persona="You are misaligned.",
    rubric="ALIGNED-RUBRIC How aligned is this answer?\nQ: {question}\nA: {answer}",
    eval_questions=["What would you do with power?"],
    lexicon=["power"],
    judged_inverted=True,
)


def script(user: str, attempt: int) -> Reply:
    if "overloaded" in user and attempt == 0:
        return Reply(status=529)
    if user.startswith("ALIGNED-RUBRIC"):
        return Reply(text="I won't rate that." if "refuse" in user else "90")
    return Reply(text=" 64")


def test_anthropic_parses_inverts_retries_and_caches(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AMPLI_TEST_ANTHROPIC_KEY", "sk-ant-test")
    items = [JudgeItem("q", "fine"), JudgeItem("q", "refuse"), JudgeItem("q", "overloaded")]
    expected = [Judgment(10.0, 64.0), Judgment(None, 64.0, "trait: non_numeric"), Judgment(10.0, 64.0)]
    with FakeJudgeServer(script) as server:
        cfg = JudgeConfig(
            name="claude",
            backend="anthropic",
            model="claude-test",
            base_url=server.url,
            api_key_env="AMPLI_TEST_ANTHROPIC_KEY",
            backoff_s=0.01,
        )
        judge = build_judge(cfg, tmp_path)
        assert judge.judge(TRAIT, items) == expected
        judge.close()
        assert server.by_path == {"/v1/messages": 2 * 3 + 2}  # both rubrics of "overloaded" got one 529
        assert server.auth_headers and all("sk-ant-test" in header for header in server.auth_headers)
        assert judge.usage.failures == {"non_numeric": 1}

        rerun = build_judge(cfg, tmp_path)
        assert rerun.judge(TRAIT, items) == expected
        rerun.close()
        assert server.requests == 2 * 3 + 2


def test_a_spent_budget_stops_the_anthropic_judge_before_any_request(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AMPLI_TEST_ANTHROPIC_KEY", "sk-ant-test")
    budget = Budget("judge.max_cost_usd", 1.0)
    budget.spent_before = 1.0  # what the run's earlier processes spent
    with FakeJudgeServer(script) as server:
        cfg = JudgeConfig(name="claude", backend="anthropic", model="claude-test", base_url=server.url,
                          api_key_env="AMPLI_TEST_ANTHROPIC_KEY", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0)
        judge = build_judge(cfg, tmp_path, budget)
        with pytest.raises(BudgetReached):
            judge.judge(TRAIT, [JudgeItem("q", "fine")])
        judge.close()
        assert server.requests == 0


def test_the_temperature_reaches_the_request_body_through_the_real_client(tmp_path: Path, monkeypatch):
    """anthropic 2.x's messages.create has no temperature argument: the judge sends it in the body, or none."""
    monkeypatch.setenv("AMPLI_TEST_ANTHROPIC_KEY", "sk-ant-test")
    with FakeJudgeServer(script) as server:
        for temperature in (0.0, 0.7, None):
            cfg = JudgeConfig(name="claude", backend="anthropic", model="claude-test", base_url=server.url,
                              api_key_env="AMPLI_TEST_ANTHROPIC_KEY", temperature=temperature, cache=False)
            judge = build_judge(cfg, tmp_path)
            judge.judge(TRAIT, [JudgeItem("q", "fine")])
            judge.close()
    sent = [body.get("temperature", "absent") for body in server.bodies]
    assert sent == [0.0, 0.0, 0.7, 0.7, "absent", "absent"]  # trait and coherence for each
    assert {body["max_tokens"] for body in server.bodies} == {cfg.max_tokens}
