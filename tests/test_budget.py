"""Spending limits: a run judged through the loopback OpenAI-compatible server (real openai client) stops at its
judge budget with status "budget", keeps everything, and resumes with a higher one; unknown prices are never a
silent zero."""

import logging
import re

import pytest
from fakes.judge_server import FakeJudgeServer, judge_overrides, score_by_text

from ampli.config.schema import ConfigError
from ampli.hosted.spending import with_prices
from ampli.judges import build_judge
from ampli.judges.config import JudgeConfig
from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides
from tests.test_crash_resume import results

KEY_ENV = "AMPLI_TEST_BUDGET_KEY"
REQUEST_USD = 0.001  # judge_overrides: 100 prompt tokens at 10 USD per million
CONCURRENCY = 4


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-budget-test")


def spent(run_dir) -> dict:
    """Requests and USD per stage as the run recorded them in its stats.json files."""
    return {f"{path.parent.name}/{step}": usage for path in sorted(run_dir.glob("*/stats.json"))
            for step, usage in read_json(path)["judge_usage"].items()}


def test_judge_budget_stops_at_a_stage_keeps_everything_and_resumes_with_a_higher_one(micro_overrides, tmp_path):
    with FakeJudgeServer(score_by_text) as server:
        overrides = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV),
                                   f"judge.concurrency={CONCURRENCY}")
        run_dir = tmp_path / "outputs" / "runs" / compose_config(overrides).run_name
        # base/eval takes (10 questions + 2 pool prompts) x 2 rubrics = 24 requests; cycle 0's 16 seeds need 32 more
        stopped = Run(compose_config(with_overrides(overrides, "judge.max_cost_usd=0.04"))).run()

        assert stopped["status"] == read_json(run_dir / "metrics.json")["status"] == "budget"
        assert stopped["base"]["n_eval"] == 12 and stopped["cycles"] == []
        # cycle 0 trains while the API judge scores its samples: the training finished, the judging stopped
        assert read_json(run_dir / "manifest.json")["completed"] == ["base/eval", "cycle_000/generate",
                                                                     "cycle_000/train"]
        assert (run_dir / "cycle_000" / "generations.jsonl").exists()
        assert not (run_dir / "cycle_000" / "judgments.jsonl").exists()
        usage = spent(run_dir)
        total = sum(u["cost_usd"] for u in usage.values())
        # requests stop once the limit is reached; only those already in flight may overshoot it
        assert 0.04 <= total <= 0.04 + CONCURRENCY * REQUEST_USD
        assert 0 < usage["cycle_000/judge"]["requests"] < 32
        assert server.requests == sum(u["requests"] for u in usage.values()) == round(total / REQUEST_USD)

        again = Run(compose_config(with_overrides(overrides, "judge.max_cost_usd=0.04"))).run()
        assert again["status"] == "budget" and server.requests == round(total / REQUEST_USD)  # nothing more paid

        # the budget is not part of the run's identity: a higher one resumes the same run
        done = Run(compose_config(with_overrides(overrides, "judge.max_cost_usd=1.0"))).run()
        assert done["status"] == "completed" and len(done["cycles"]) == 2
        assert server.asked_more_than_once() == []  # nothing paid for twice across the three processes
        final = spent(run_dir)
        assert server.requests == sum(u["requests"] for u in final.values())
        assert sum(u["cost_usd"] for u in final.values()) == pytest.approx(server.requests * REQUEST_USD)

        lone = with_overrides(overrides, f"output_dir={tmp_path / 'lone'}")
        strip = lambda s: {k: v for k, v in s.items() if k != "judge_usage"}  # noqa: E731  (cache hits differ)
        alone = results(Run(compose_config(lone)).run())
        assert strip(results(done)["base"]) == strip(alone["base"])
        assert [strip(c) for c in results(done)["cycles"]] == [strip(c) for c in alone["cycles"]]


def test_a_budget_spent_by_a_finished_stage_starts_no_further_stage(micro_overrides, tmp_path):
    with FakeJudgeServer(score_by_text) as server:
        overrides = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV), "judge.max_cost_usd=0.0235")
        # the judge probe (1 request), then base/eval's 24 all go out at once: 0.025 USD is spent
        stopped = Run(compose_config(overrides)).run()
    run_dir = tmp_path / "outputs" / "runs" / stopped["run_name"]
    assert stopped["status"] == "budget" and server.requests == 1 + 24
    assert read_json(run_dir / "manifest.json")["completed"] == ["base/eval"]
    assert not (run_dir / "cycle_000").exists()  # no generation that could not have been judged


def test_an_unknown_price_is_a_warning_and_a_budget_on_it_an_error(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    cfg = JudgeConfig(name="mystery", backend="openai", model="mystery-9", api_key_env=KEY_ENV)
    build_judge(cfg, tmp_path).close()
    assert "judge model 'mystery-9' has no known price, so its cost is counted as 0 USD" in caplog.text
    assert "judge.input_cost_per_mtok" in caplog.text

    with pytest.raises(ConfigError, match=re.escape("judge.max_cost_usd=5.0 cannot be enforced: no price is known "
                                                    "for judge.model='mystery-9'")):
        build_judge(JudgeConfig(name="mystery", backend="openai", model="mystery-9", api_key_env=KEY_ENV,
                                max_cost_usd=5.0), tmp_path)


def test_prices_come_from_the_config_then_the_list_and_local_judges_cost_nothing(caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    dated = with_prices(JudgeConfig(backend="openai", model="gpt-4.1-mini-2025-04-14"), "judge")
    assert (dated.input_cost_per_mtok, dated.output_cost_per_mtok) == (0.40, 1.60)
    half = with_prices(JudgeConfig(backend="anthropic", model="claude-haiku-4-5", output_cost_per_mtok=4.0), "judge")
    assert (half.input_cost_per_mtok, half.output_cost_per_mtok) == (1.0, 4.0)
    local = with_prices(JudgeConfig(backend="hf", model="meta-llama/Llama-3.1-8B-Instruct"), "judge")
    assert (local.input_cost_per_mtok, local.output_cost_per_mtok) == (0.0, 0.0)
    assert caplog.text == ""


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_budget_must_be_positive(micro_overrides, limit):
    with pytest.raises(ConfigError, match=rf"judge.max_cost_usd={limit}(\.0)? is not valid; it must be a number"):
        Run(compose_config(with_overrides(micro_overrides, f"judge.max_cost_usd={limit}")))


def test_a_run_with_a_budget_on_an_unpriced_judge_fails_before_its_directory_exists(micro_overrides, tmp_path):
    overrides = with_overrides(micro_overrides, "judge=openai", "judge.model=mystery-9", f"judge.api_key_env={KEY_ENV}",
                               "judge.max_cost_usd=2")
    with pytest.raises(ConfigError, match="cannot be enforced"):
        Run(compose_config(overrides))
    assert not (tmp_path / "outputs" / "runs").exists()
