"""A judge that refuses the run's requests, rate-limits some of them or cannot be reached never lets a run end
"completed" with scores it did not get: whole runs against the real openai client and a loopback server."""

import hashlib
import json
import re
import socket
import subprocess
import sys

import pytest
from fakes.judge_server import FakeJudgeServer, Reply, judge_overrides, score_by_text

from ampli.judges.base import JudgeFailed
from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides
from tests.test_loop import output_dir_of

KEY_ENV = "AMPLI_TEST_JUDGE_KEY"
FAST = ["loop.cycles=1", "judge.max_retries=1", "judge.max_attempts=2", "judge.max_backoff_s=0.02"]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")


def run_dir(overrides: list[str]):
    [path] = (output_dir_of(overrides) / "runs").iterdir()
    return path


def refuses_logprobs(body: dict) -> Reply | None:
    """A model that rejects logprobs, as newer reasoning models do."""
    if body.get("logprobs"):
        return Reply(status=400, message="logprobs are not supported with this model.")
    return None


def launch(overrides: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "launch.py", *overrides], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_a_judge_that_refuses_the_run_s_requests_stops_it_at_start(micro_overrides):
    with FakeJudgeServer(score_by_text, body_check=refuses_logprobs) as server:
        overrides = with_overrides(micro_overrides, *FAST, *judge_overrides(server, KEY_ENV))
        done = launch(overrides)
    assert done.returncode == 2, done.stderr[-2000:]
    [error] = [line for line in done.stderr.splitlines() if line.startswith("ampli: error:")]
    assert re.search(r"refused a request shaped as the run's \(judge\.max_tokens=4, judge\.top_logprobs=20.*"
                     r"HTTP 400: logprobs are not supported with this model\.$", error)
    assert server.requests == 1  # the probe, not retried: a 400 is an answer
    body = server.bodies[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 4
    assert read_json(run_dir(overrides) / "manifest.json")["completed"] == []  # nothing generated or judged


def rate_limited_share(user: str) -> bool:
    """A third of the run's requests (the probe, which would stop the run at start, aside)."""
    probe = "good way to start the day" in user
    return not probe and int(hashlib.sha256(user.encode()).hexdigest(), 16) % 3 == 0


def test_items_rate_limited_past_every_retry_leave_the_stage_open_and_a_rerun_asks_only_for_them(micro_overrides):
    limited = {"on": True}

    def script(user: str, attempt: int) -> Reply:
        if limited["on"] and rate_limited_share(user):
            return Reply(status=429, headers={"Retry-After": "0"})
        return score_by_text(user, attempt)

    with FakeJudgeServer(script) as server:
        overrides = with_overrides(micro_overrides, *FAST, *judge_overrides(server, KEY_ENV))
        with pytest.raises(JudgeFailed, match=r"requests still fail after judge\.max_attempts=2 rounds .*429"):
            Run(compose_config(overrides)).run()
        root = run_dir(overrides)
        assert read_json(root / "metrics.json")["status"] == "judge_failed"
        assert "base/eval" not in read_json(root / "manifest.json")["completed"]
        first = [json.dumps(b["messages"]) for b in server.bodies]
        refused = {text for text in first if rate_limited_share(json.loads(text)[-1]["content"])}
        answered = set(first) - refused
        assert refused and answered - {first[0]}  # the probe aside, some were scored and kept

        limited["on"] = False
        summary = Run(compose_config(overrides)).run()
        assert summary["status"] == "completed" and summary["base"]["n_unscorable"] == 0
        again = [json.dumps(b["messages"]) for b in server.bodies[len(first):]]
        assert refused <= set(again)  # every item that had failed is scored now
        assert not (answered - {first[0]}) & set(again)  # and none that had been scored is paid for again


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_judge_ends_the_run_as_judge_failed_with_a_nonzero_exit(micro_overrides):
    overrides = with_overrides(micro_overrides, *FAST, "judge=openai", "judge.model=fake-judge",
                               f"judge.base_url=http://127.0.0.1:{closed_port()}/v1", f"judge.api_key_env={KEY_ENV}",
                               "judge.input_cost_per_mtok=0", "judge.output_cost_per_mtok=0", "judge.backoff_s=0.01")
    done = launch(overrides)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "ampli: error: judge 'openai' at http://127.0.0.1:" in done.stderr and "cannot be reached" in done.stderr
    metrics = read_json(run_dir(overrides) / "metrics.json")
    assert metrics["status"] == "judge_failed" and metrics["base"] is None  # stopped before any stage
