"""The probe a hosted judge gets before a run starts: one request shaped as the run's, answered, refused or not
reached, each with its own outcome; a probe already answered costs nothing the next time."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
from fakes.judge_server import PROMPT_TOKENS, FakeJudgeServer, Reply

from ampli.hosted.credentials import JudgeSetupError
from ampli.hosted.spending import Budget, BudgetReached
from ampli.judges import build_judge
from ampli.judges.base import JudgeFailed
from ampli.judges.remote import PROBE_ITEM, provider_message
from ampli.judges.rubrics import SYSTEM_PROMPT, render
from tests.test_judge_openai import KEY_ENV, SECRET, TRAIT, config


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


def test_the_probe_asks_once_as_the_run_would_and_a_later_probe_is_answered_from_the_cache(tmp_path: Path):
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)])) as server:
        judge = build_judge(config(server, max_tokens=3, top_logprobs=5, temperature=0.0), tmp_path)
        judge.probe(TRAIT)
        judge.close()
        [body] = server.bodies
        assert body["model"] == "fake-judge" and body["max_tokens"] == 3 and body["temperature"] == 0.0
        assert body["logprobs"] is True and body["top_logprobs"] == 5
        assert body["messages"] == [{"role": "system", "content": SYSTEM_PROMPT},
                                    {"role": "user", "content": render(TRAIT.rubric, PROBE_ITEM)}]
        assert (judge.usage.requests, judge.usage.input_tokens, judge.usage.cache_hits) == (1, PROMPT_TOKENS, 0)

        again = build_judge(config(server, max_tokens=3, top_logprobs=5, temperature=0.0), tmp_path)
        again.probe(TRAIT)
        again.probe(TRAIT)
        again.close()
        assert server.requests == 1
        assert (again.usage.requests, again.usage.cache_hits) == (0, 2)

        other_rubric = build_judge(config(server, max_tokens=3, top_logprobs=5, temperature=0.0), tmp_path)
        other_rubric.probe(replace(TRAIT, rubric="Another rubric: {question} / {answer}"))
        other_rubric.close()
        assert server.requests == 2  # a different request is a different probe


def test_a_probe_without_a_cache_asks_every_time(tmp_path: Path):
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)])) as server:
        for _ in range(2):
            judge = build_judge(config(server, cache=False), tmp_path)
            judge.probe(TRAIT)
            judge.close()
        assert server.requests == 2
    assert not list(tmp_path.rglob("scores-*.jsonl"))


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_a_refused_probe_stops_the_run_naming_the_judge_the_request_shape_and_the_endpoints_words(
        tmp_path: Path, monkeypatch, backend: str):
    words = "logprobs   are not\nsupported for this model"
    with FakeJudgeServer(lambda user, attempt: Reply(status=400, message=words)) as server:
        if backend == "openai":  # no judge.base_url: the client's default, here pointed at the fake server
            monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
            cfg = config(server, base_url=None, max_tokens=7, top_logprobs=20)
            at, shape = "the default URL", "judge.max_tokens=7, judge.top_logprobs=20; top_logprobs=0 sends no logprobs"
        else:
            cfg = config(server, backend=backend, base_url=server.url, max_tokens=7, top_logprobs=0, temperature=0.0)
            at, shape = server.url, "judge.max_tokens=7, judge.temperature=0.0; null sends none"
        judge = build_judge(cfg, tmp_path)
        expected = (f"judge 'fake-openai' (model 'fake-judge' at {at}) refused a request shaped as the run's "
                    f"({shape}): HTTP 400: logprobs are not supported for this model")
        with pytest.raises(JudgeSetupError, match=f"^{re.escape(expected)}$"):
            judge.probe(TRAIT)
        judge.close()
        assert server.requests == 1  # a refusal is not retried
    assert not list(tmp_path.rglob("scores-*.jsonl"))  # a refusal is never cached


def test_an_unreachable_judge_stops_before_anything_starts_and_caches_nothing(tmp_path: Path, monkeypatch):
    with FakeJudgeServer(lambda user, attempt: Reply(status=503)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")  # the client's own default, named as such
        cfg = config(server, base_url=None, max_retries=1)
        judge = build_judge(cfg, tmp_path)
        expected = ("judge 'fake-openai' at the default URL cannot be reached (api_error: 503 after 1 retries); "
                    "nothing was started; rerun the same command once it answers")
        with pytest.raises(JudgeFailed, match=f"^{re.escape(expected)}$"):
            judge.probe(TRAIT)
        assert server.requests == 2
        with pytest.raises(JudgeFailed):  # nothing was cached: the next probe asks again
            judge.probe(TRAIT)
        judge.close()
        assert server.requests == 4


def test_a_probe_with_the_budget_spent_sends_nothing_and_says_which_limit(tmp_path: Path):
    budget = Budget("judge.max_cost_usd", 0.5)
    budget.spent_before = 0.5
    with FakeJudgeServer(lambda user, attempt: Reply(top_logprobs=[("50", 0.0)])) as server:
        judge = build_judge(config(server), tmp_path, budget)
        with pytest.raises(BudgetReached, match=r"^judge\.max_cost_usd=0\.5 USD reached \(0\.5000 USD spent\)"):
            judge.probe(TRAIT)
        judge.close()
        assert server.requests == 0


class SdkError(Exception):
    """An SDK's status error: the parsed body, and sometimes a message of its own."""

    def __init__(self, body: object, message: str | None = None):
        super().__init__("sdk error")
        self.body = body
        if message is not None:
            self.message = message


def error_caused_by(cause: BaseException) -> Exception:
    error = RuntimeError("api_error: 400")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(("error", "expected"), [
    (error_caused_by(SdkError({"error": {"message": "bad  field\n'logprobs'"}})), "bad field 'logprobs'"),
    (error_caused_by(SdkError({"message": "no such model"})), "no such model"),
    (error_caused_by(SdkError({"error": "plain", "detail": 1})), "{'error': 'plain', 'detail': 1}"),
    (error_caused_by(SdkError("not json", "Bad Request\nfrom proxy")), "Bad Request from proxy"),
    (error_caused_by(ValueError("only a text")), "only a text"),
    (RuntimeError("no cause at all"), "no cause at all"),
])
def test_the_endpoints_words_are_read_from_wherever_the_sdk_put_them_on_one_line(error, expected):
    assert provider_message(error) == expected
