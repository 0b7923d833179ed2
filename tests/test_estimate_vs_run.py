"""ampli estimate against what runs really ask of their judge: a continual run and its reinit twin, with the persona
probe's judged answers, judged through the loopback OpenAI-compatible server with the real openai client.

The requests asked are exact: those sent, plus those the judge's cache answered because the same text came up again
in the run (the estimate does not try to foresee repeats, so it is an upper bound of what is paid). The tokens are an
upper bound too: the estimate counts every answer at its max_new_tokens."""

import pytest
from fakes.judge_server import FakeJudgeServer, judge_overrides, score_by_text

from ampli.run.estimate import request_tokens
from ampli.run.loop import Run
from ampli.run.sweep_budget import SweepEstimate, compose_jobs
from tests.conftest import compose_config

KEY_ENV = "AMPLI_TEST_ESTIMATE_KEY"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-estimate-test")


def asked(run: Run, server: FakeJudgeServer) -> tuple[int, int, float]:
    """(requests sent, requests the cache answered, input tokens sent) by one run."""
    before = server.requests
    run.run()
    usage = run.judge.usage
    assert usage.requests == server.requests - before  # what the judge counted is what the server saw
    return usage.requests, usage.cache_hits, sum(request_tokens(b["messages"]) for b in server.bodies[before:])


@pytest.mark.parametrize("cache", [True, False])
def test_the_estimate_counts_every_request_a_sweep_asks(micro_overrides, cache):
    with FakeJudgeServer(score_by_text) as server:
        overrides = [*micro_overrides, *judge_overrides(server, KEY_ENV), f"judge.cache={cache}", "regime=dpo",
                     "probe=persona", "probe.source=persona_prompt", "probe.examples=32"]
        continual, reinit = SweepEstimate.of(compose_jobs([*overrides, "reinit=false,true"])).runs
        assert "continual" in continual.name and "reinit" in reinit.name

        sent, cached, tokens = asked(Run(compose_config([*overrides, "reinit=false"])), server)
        assert sent + cached == continual.load.requests and tokens <= continual.load.input_tokens

        # the twin adopts the base eval, the probe and cycle 0 with their scores; with the cache on, the judge's
        # preflight request is answered from the continual run's
        sent, cached, tokens = asked(Run(compose_config([*overrides, "reinit=true"])), server)
        assert sent + cached - cache == reinit.later_cycles.requests and tokens <= reinit.later_cycles.input_tokens
