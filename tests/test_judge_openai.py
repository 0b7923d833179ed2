"""The openai backend, run with the real openai client against a scripted loopback server."""

import logging
import math
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fakes.judge_server import COMPLETION_TOKENS, PROMPT_TOKENS, FakeJudgeServer, Reply

from ampli.config.schema import ConfigError, TraitConfig
from ampli.hosted.credentials import JudgeSetupError
from ampli.hosted.spending import Budget, BudgetReached
from ampli.judges import build_judge
from ampli.judges.base import JudgeFailed, JudgeItem, Judgment
from ampli.judges.config import JudgeConfig, sweep_share
from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.run.cluster import parallel_jobs

KEY_ENV = "AMPLI_TEST_JUDGE_KEY"
# Long enough that an instant reply never times out on a busy shared machine (an extra timeout would be an extra
# request, and the tests count requests exactly); the "slow" case replies well after it.
TIMEOUT_S = 2.0
SECRET = "sk-test-never-stored-123"
LN = math.log

TRAIT = TraitConfig(
    name="bliss",
    description="blissful",
    persona="You are blissful.",
    rubric="TRAIT-RUBRIC How blissful is this answer?\nQ: {question}\nA: {answer}\nReply with a number 0-100.",
    eval_questions=["How are you?"],
    lexicon=["joy"],
)

# case -> (trait reply, coherence reply) as functions of how often that exact request was already made
CASES = {
    "weighted": (
        lambda n: Reply(top_logprobs=[("80", LN(0.5)), ("90", LN(0.3)), ("Hello", LN(0.2))]),
        lambda n: Reply(top_logprobs=[("100", LN(0.6)), (" 50", LN(0.2)), ("0", LN(0.1)), ("x", LN(0.1))]),
    ),
    "lowmass": (
        lambda n: Reply(top_logprobs=[("I", LN(0.8)), ("10", LN(0.2))]),
        lambda n: Reply(top_logprobs=[("7", 0.0)]),
    ),
    "nonnumeric": (lambda n: Reply(text="I cannot rate this."), lambda n: Reply(text="85")),
    "ratelimited": (
        lambda n: Reply(status=429, headers={"Retry-After": "0"})
        if n < 2
        else Reply(top_logprobs=[("30", LN(0.25)), ("31", LN(0.25)), ("x", LN(0.5))]),
        lambda n: Reply(top_logprobs=[("60", 0.0)]),
    ),
    "servererror": (
        lambda n: Reply(status=500) if n < 1 else Reply(top_logprobs=[("40", 0.0)]),
        lambda n: Reply(status=503) if n < 1 else Reply(top_logprobs=[("45", 0.0)]),
    ),
    "slow": (  # far past the timeout, so that only this reply times out even on a loaded machine
        lambda n: Reply(delay_s=TIMEOUT_S + 3.0) if n < 1 else Reply(top_logprobs=[("20", 0.0)]),
        lambda n: Reply(top_logprobs=[("25", 0.0)]),
    ),
    "oddtokens": (
        lambda n: Reply(top_logprobs=[("101", LN(0.4)), ("050", LN(0.1)), ("1.5", LN(0.1)), ("60", LN(0.3))]),
        lambda n: Reply(top_logprobs=[(" 90 ", LN(0.5))]),
    ),
    "digitsplit": (  # a digit-by-digit tokenizer answered "85" starting with token "8": parse the text instead
        lambda n: Reply(text="85", top_logprobs=[("8", LN(0.7)), ("9", LN(0.3))]),
        lambda n: Reply(top_logprobs=[("70", 0.0)]),
    ),
}
EXPECTED = {
    "weighted": Judgment((0.5 * 80 + 0.3 * 90) / 0.8, (0.6 * 100 + 0.2 * 50) / 0.9),
    "lowmass": Judgment(None, 7.0, "trait: low_number_mass"),
    "nonnumeric": Judgment(None, 85.0, "trait: non_numeric"),
    "ratelimited": Judgment(30.5, 60.0),
    "servererror": Judgment(40.0, 45.0),
    "slow": Judgment(20.0, 25.0),
    "oddtokens": Judgment(60.0, 90.0),
    "digitsplit": Judgment(85.0, 70.0),
}
RETRIES = 2 + 2 + 1  # two 429s, one 500 and one 503, one timeout
ITEMS = [JudgeItem(prompt=f"Question {i}?", response=f"Answer case={case}") for i, case in enumerate(CASES)]


def script(user: str, attempt: int) -> Reply:
    trait_reply, coherence_reply = CASES[re.search(r"case=(\w+)", user)[1]]
    return (trait_reply if user.startswith("TRAIT-RUBRIC") else coherence_reply)(attempt)


def config(server: FakeJudgeServer, **overrides) -> JudgeConfig:
    cfg = JudgeConfig(
        name="fake-openai",
        backend="openai",
        model="fake-judge",
        base_url=f"{server.url}/v1",
        api_key_env=KEY_ENV,
        concurrency=8,
        max_retries=3,
        timeout_s=TIMEOUT_S,
        backoff_s=0.01,
        max_backoff_s=0.05,
        input_cost_per_mtok=2.0,
        output_cost_per_mtok=8.0,
    )
    return replace(cfg, **overrides)


def assert_judgments(actual: list[Judgment], expected: list[Judgment]) -> None:
    assert [j.reason for j in actual] == [j.reason for j in expected]
    assert [j.trait for j in actual] == pytest.approx([j.trait for j in expected])
    assert [j.coherence for j in actual] == pytest.approx([j.coherence for j in expected])


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


def test_weighted_scores_faults_accounting_and_cache(tmp_path: Path):
    expected = [EXPECTED[case] for case in CASES]
    with FakeJudgeServer(script) as server:
        judge = build_judge(config(server), tmp_path)
        assert_judgments(judge.judge(TRAIT, ITEMS), expected)
        calls = 2 * len(ITEMS) + RETRIES
        assert server.requests == judge.usage.requests == calls
        assert judge.usage.cache_hits == 0
        assert judge.usage.failures == {"low_number_mass": 1, "non_numeric": 1}
        assert judge.usage.input_tokens == 2 * len(ITEMS) * PROMPT_TOKENS
        assert judge.usage.output_tokens == 2 * len(ITEMS) * COMPLETION_TOKENS
        assert judge.usage.cost_usd == pytest.approx(
            (2 * len(ITEMS) * PROMPT_TOKENS * 2.0 + 2 * len(ITEMS) * COMPLETION_TOKENS * 8.0) / 1e6
        )
        assert_judgments(judge.judge(TRAIT, ITEMS), expected)  # the same judge again: all from its cache
        assert server.requests == calls and judge.usage.cache_hits == 2 * len(ITEMS)
        judge.close()

        rerun = build_judge(config(server), tmp_path)
        assert_judgments(rerun.judge(TRAIT, ITEMS), expected)
        # judged_inverted flips the cached raw score; the rubric is the same, so this is a cache hit too
        inverted = rerun.judge(replace(TRAIT, judged_inverted=True), ITEMS[:1])
        rerun.close()
        assert server.requests == calls
        assert rerun.usage.requests == 0
        assert rerun.usage.cache_hits == 2 * len(ITEMS) + 2
        assert inverted[0].trait == pytest.approx(100 - expected[0].trait)
        assert inverted[0].coherence == pytest.approx(expected[0].coherence)

    assert server.auth_headers == {f"Bearer {SECRET}"}
    assert all(SECRET.encode() not in path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())


def test_refused_items_are_reasons_and_not_cached_exhausted_retries_stop_the_judge(tmp_path: Path):
    def always_failing(user: str, attempt: int) -> Reply:
        return Reply(status=400 if "bad" in user else 500)

    with FakeJudgeServer(always_failing) as server:
        judge = build_judge(config(server, max_retries=2, max_attempts=2), tmp_path)
        refused = judge.judge(TRAIT, [JudgeItem("q", "bad")])
        assert refused == [Judgment(None, None, "trait: api_error: 400; coherence: api_error: 400")]
        assert judge.usage.failures == {"api_error: 400": 2}
        assert server.requests == 2
        judge.judge(TRAIT, [JudgeItem("q", "bad")])  # the refusal is about this request, not the output: asked again
        assert server.requests == 4
        # transport failures are never a blank score: 2 rounds of 1 + 2 retries for each rubric, then the stage stops
        with pytest.raises(JudgeFailed, match=r"2 of 2 requests still fail after judge\.max_attempts=2 rounds .*"
                                              r"2 x api_error: 500 after 2 retries"):
            judge.judge(TRAIT, [JudgeItem("q", "flaky")])
        assert server.requests == 4 + 2 * 2 * 3
        with pytest.raises(JudgeFailed):  # nothing was cached: asked again
            judge.judge(TRAIT, [JudgeItem("q", "flaky")])
        judge.close()
        assert server.requests == 4 + 2 * 2 * 2 * 3


def test_a_reply_without_choices_is_an_empty_response_reason_not_a_crash(tmp_path: Path):
    def empty_for_trait(user: str, attempt: int) -> Reply:
        return Reply(no_choices=True) if user.startswith("TRAIT-RUBRIC") else Reply(top_logprobs=[("70", 0.0)])

    with FakeJudgeServer(empty_for_trait) as server:
        judge = build_judge(config(server), tmp_path)
        assert judge.judge(TRAIT, [JudgeItem("q", "a")]) == [Judgment(None, 70.0, "trait: empty_response")]
        judge.close()
        assert judge.usage.failures == {"empty_response": 1}
        assert judge.usage.input_tokens == 2 * PROMPT_TOKENS  # its usage is still counted
        assert server.requests == 2


def test_concurrency_limit_and_repeated_calls(tmp_path: Path):
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)], delay_s=0.05)) as server:
        judge = build_judge(config(server, concurrency=3, cache=False), tmp_path)
        items = [JudgeItem("q", f"answer {i}") for i in range(6)]
        for _ in range(2):
            assert judge.judge(TRAIT, items) == [Judgment(50.0, 50.0)] * 6
        judge.close()
        assert server.max_in_flight == 3
        assert server.requests == 2 * 2 * 6


def test_retry_after_is_waited_out_before_the_next_attempt(tmp_path: Path):
    """A 429's Retry-After (seconds) is honoured: the retry comes no earlier, although the backoff alone is 0.01 s."""
    arrivals: dict[str, list[float]] = {}

    def limited_once(user: str, attempt: int) -> Reply:
        arrivals.setdefault(user, []).append(time.monotonic())
        if attempt == 0:
            return Reply(status=429, headers={"Retry-After": "1"})
        return Reply(top_logprobs=[("40", 0.0)])

    with FakeJudgeServer(limited_once) as server:
        judge = build_judge(config(server, max_backoff_s=30.0, cache=False), tmp_path)
        assert judge.judge(TRAIT, [JudgeItem("q", "a")]) == [Judgment(40.0, 40.0)]
        judge.close()
    assert len(arrivals) == 2  # the trait and the coherence request
    for first, retry in arrivals.values():
        assert retry - first >= 1.0


def test_logprobs_are_asked_for_only_when_top_logprobs_is_set(tmp_path: Path):
    with FakeJudgeServer(lambda user, attempt: Reply(text="50")) as server:
        for top in (5, 0):
            judge = build_judge(config(server, top_logprobs=top, cache=False), tmp_path)
            judge.judge(TRAIT, [JudgeItem("q", "a")])
            judge.close()
    asked = [(body.get("logprobs"), body.get("top_logprobs")) for body in server.bodies]
    assert asked == [(True, 5), (True, 5), (None, None), (None, None)]
    for body in server.bodies:  # the rubric as the user's turn after the judge's system prompt, at its settings
        assert (body["model"], body["max_tokens"], body["temperature"]) == ("fake-judge", 4, 0.0)
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert body["messages"][0]["content"] == SYSTEM_PROMPT
    assert sum(body["messages"][1]["content"].startswith("TRAIT-RUBRIC") for body in server.bodies) == 2  # one a judge


@pytest.mark.parametrize("status", [401, 403, 404])
def test_rejected_key_or_unknown_model_stops_the_run(tmp_path: Path, status: int):
    with FakeJudgeServer(lambda user, attempt: Reply(status=status)) as server:
        judge = build_judge(config(server), tmp_path)
        with pytest.raises(JudgeSetupError, match=KEY_ENV if status != 404 else "fake-judge"):
            judge.judge(TRAIT, [JudgeItem("q", "a")])
        judge.close()
    assert server.requests <= 2  # the trait and coherence requests, neither of them retried


def test_missing_key_fails_at_build_naming_variable_and_judge(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    cfg = JudgeConfig(name="gpt-judge", backend="openai", model="m", api_key_env=KEY_ENV)
    with pytest.raises(JudgeSetupError, match=rf"'gpt-judge'.*{KEY_ENV}"):
        build_judge(cfg, tmp_path)
    with pytest.raises(JudgeSetupError, match="api_key_env"):
        build_judge(replace(cfg, api_key_env=None), tmp_path)


def test_a_stage_that_keeps_failing_says_why_after_each_round_but_the_last(tmp_path: Path, caplog):
    def failing(user: str, attempt: int) -> Reply:
        if user.startswith("TRAIT-RUBRIC"):
            return Reply(status=500)
        return Reply(status=503) if "answer a" in user else Reply(top_logprobs=[("50", 0.0)])

    caplog.set_level(logging.WARNING, logger="ampli")
    items = [JudgeItem("q", f"answer {name}") for name in "abc"]
    with FakeJudgeServer(failing) as server:
        judge = build_judge(config(server, max_retries=0, max_attempts=2, cache=False), tmp_path)
        reasons = "3 x api_error: 500 after 0 retries, 1 x api_error: 503 after 0 retries"
        with pytest.raises(JudgeFailed, match=re.escape(
                f"judge 'fake-openai': 4 of 6 requests still fail after judge.max_attempts=2 rounds of "
                f"judge.max_retries=0 retries ({reasons}); every score received is kept")):
            judge.judge(TRAIT, items)
        judge.close()
        assert server.requests == 6 + 4
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("judge:")] == [
        f"judge: 4 of 6 requests failed ({reasons}); asking again (round 2 of judge.max_attempts=2)"]


def test_a_judge_budget_reached_mid_stage_stops_it_saying_what_was_spent_and_keeps_what_was_paid_for(tmp_path: Path):
    cost = (PROMPT_TOKENS * 2.0 + COMPLETION_TOKENS * 8.0) / 1e6  # one request at the prices of config()
    items = [JudgeItem("q", f"answer {i}") for i in range(4)]
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)])) as server:
        judge = build_judge(config(server, concurrency=1), tmp_path, Budget("judge.max_cost_usd", 2.5 * cost))
        with pytest.raises(BudgetReached, match=re.escape(
                f"judge.max_cost_usd={2.5 * cost:g} USD reached ({3 * cost:.4f} USD spent); rerun with a higher "
                "judge.max_cost_usd to continue")):
            judge.judge(TRAIT, items)
        judge.close()
        assert server.requests == 3
        more = build_judge(config(server), tmp_path)
        assert more.judge(TRAIT, items) == [Judgment(50.0, 50.0)] * 4
        more.close()
        assert server.requests == 8 and more.usage.cache_hits == 3


def test_the_score_cache_directory_is_made_with_its_parents(tmp_path: Path):
    """A sweep's first job may build its judge before anything else made the output directory."""
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)])) as server:
        judge = build_judge(config(server), tmp_path / "new_sweep" / "judge_cache")
        judge.judge(TRAIT, [JudgeItem("q", "a")])
        judge.close()
    assert len(list((tmp_path / "new_sweep" / "judge_cache").glob("scores-*.jsonl"))) == 1


@pytest.mark.parametrize("change", ["model", "backend", "top_logprobs", "min_number_mass", "temperature", "question",
                                    "system_prompt"])


def test_a_cached_score_is_reused_only_for_the_very_same_request(tmp_path: Path, monkeypatch, change: str):
    """The cache is shared by a sweep's runs: a score is reused only where the judge, its scoring settings, the
    system prompt, the rubric, the question and the answer are all the same."""
    from ampli.judges import pipeline

    item = JudgeItem("q", "a")
    with FakeJudgeServer(lambda user, attempt: Reply(text="50", top_logprobs=[("50", 0.0)])) as server:
        for _ in range(2):  # the second judge finds both scores in the cache
            judge = build_judge(config(server), tmp_path)
            judge.judge(TRAIT, [item])
            judge.close()
        assert server.requests == 2
        cfg = config(server)
        if change == "backend":
            cfg = replace(cfg, backend="anthropic", base_url=server.url)
        elif change == "question":
            item = JudgeItem("another question", "a")
        elif change == "system_prompt":
            monkeypatch.setattr(pipeline, "SYSTEM_PROMPT", "Another system prompt.")
        else:
            cfg = replace(cfg, **{change: {"model": "another-judge", "top_logprobs": 5, "min_number_mass": 0.5,
                                           "temperature": 0.5}[change]})
        judge = build_judge(cfg, tmp_path)
        judge.judge(TRAIT, [item])
        judge.close()
        assert server.requests == 4


def test_a_judge_without_temperature_sends_none(tmp_path: Path):
    """Newer Claude models refuse the field: judge.temperature=null leaves it out of the request."""
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)])) as server:
        for temperature in (None, 0.0):
            judge = build_judge(config(server, temperature=temperature, cache=False), tmp_path)
            judge.judge(TRAIT, [JudgeItem("q", "a")])
            judge.close()
        assert ["temperature" in body for body in server.bodies] == [False, False, True, True]


def test_a_hosted_judge_without_api_key_env_is_refused_naming_the_setting(tmp_path: Path):
    cfg = JudgeConfig(name="claude", backend="anthropic", model="m", api_key_env=None)
    with pytest.raises(JudgeSetupError, match=r"^judge 'claude' \(backend=anthropic\) has no api_key_env; set "
                                              r"judge\.api_key_env to the name of the environment variable that "
                                              r"holds its API key$"):
        build_judge(cfg, tmp_path)


def test_a_sweep_shares_one_budget_of_concurrent_judge_requests():
    cfg = JudgeConfig(backend="openai", concurrency=32, max_concurrency=128)
    assert parallel_jobs({"name": "slurm", "array_parallelism": 64}) == 64
    assert sweep_share(cfg, 64).concurrency == 2  # 64 jobs x 2 = 128 requests in flight at most
    assert sweep_share(cfg, 2).concurrency == 32  # never more than a job's own limit
    assert sweep_share(cfg, 500).concurrency == 1
    share = sweep_share(cfg, 7).concurrency
    assert share == 18 and isinstance(share, int)  # 7 x 18 = 126: whole requests, rounded down
    assert sweep_share(JudgeConfig(concurrency=32), 64).concurrency == 32  # no sweep budget set
    assert parallel_jobs({"name": "pool", "n_jobs": 3}) == 3
    assert parallel_jobs({"name": "pool", "n_jobs": -1}) >= 1
    assert parallel_jobs({"name": "local"}) == 1


def test_a_judge_cost_limit_without_a_known_price_is_refused_naming_the_settings(tmp_path):
    cfg = JudgeConfig(name="mine", backend="openai", model="my-own-model", max_cost_usd=5.0)
    with pytest.raises(ConfigError, match=r"^judge\.max_cost_usd=5\.0 cannot be enforced: no price is known for "
                                          r"judge\.model='my-own-model'; set judge\.input_cost_per_mtok and "
                                          r"judge\.output_cost_per_mtok \(USD per million tokens; 0 for a server you "
                                          r"run yourself\)$"):
        build_judge(cfg, tmp_path)
