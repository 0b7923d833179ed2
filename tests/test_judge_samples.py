"""loop.judge_samples: all, none or a seeded N of each cycle's samples; the coherence filter judges all of the
samples it selects from; an API judge scores the samples while the model trains on them, unless the filter waits."""

import logging
import re
import time
from pathlib import Path

import pytest
from fakes.judge_server import FakeJudgeServer, Reply, judge_overrides, score_by_text
from omegaconf import OmegaConf

from ampli.config.schema import ConfigError, validate
from ampli.judges import judge_samples
from ampli.record.store import read_json, read_jsonl
from ampli.regimes.sft import SFTRegime
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides

KEY_ENV = "AMPLI_TEST_JUDGE_SAMPLES_KEY"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-judge-samples-test")


def typed(*overrides: str):
    """The embedded default's typed config, without its coherence filter unless the overrides set one."""
    return OmegaConf.to_object(compose_config(["loop.coherence_filter.min=null", *overrides]))


def judged_ids(run_dir, cycle: int) -> list[str]:
    return [j["id"] for j in read_jsonl(run_dir / f"cycle_{cycle:03d}" / "judgments.jsonl")]


def run_dir_of(overrides: list[str], summary: dict) -> Path:
    return Path(compose_config(overrides).output_dir) / "runs" / summary["run_name"]


def test_the_subset_is_seeded_and_the_coherence_filter_forces_all():
    cfg = typed("loop.judge_samples=5")
    first, record = judge_samples.chosen(cfg, 1, 20, seed=7)
    assert len(first) == 5 and first == sorted(set(first)) and record == {"setting": "5", "judged": 5, "of": 20}
    assert judge_samples.chosen(cfg, 1, 20, seed=7)[0] == first  # the same draw every time
    assert judge_samples.chosen(cfg, 2, 20, seed=8)[0] != first  # another cycle: another subset
    assert judge_samples.chosen(cfg, 1, 3, seed=7)[0] == [0, 1, 2]  # fewer samples than N: all of them
    assert judge_samples.chosen(typed("loop.judge_samples=none"), 1, 20, seed=7)[0] == []
    assert judge_samples.chosen(typed(), 1, 20, seed=7)[0] == list(range(20))  # the default: all

    filtered = typed("loop.judge_samples=none", "loop.coherence_filter.min=40")
    assert judge_samples.chosen(filtered, 0, 20, seed=7)[0] == []  # the seed set is never filtered
    positions, record = judge_samples.chosen(filtered, 1, 20, seed=7)
    assert positions == list(range(20)) and record["forced_all_by"] == "loop.coherence_filter.min=40"


@pytest.mark.parametrize("value", ["some", "0", "-3", "2.5"])
def test_a_bad_value_names_itself_and_the_options(value):
    with pytest.raises(ConfigError, match=re.escape(f"loop.judge_samples={value!r} is not valid; choose one of: "
                                                    "all, none, or a number of samples N >= 1")):
        validate(typed(f"loop.judge_samples={value}"))


def test_a_subset_is_the_same_on_resume_and_unjudged_samples_never_score(micro_overrides, caplog):
    overrides = with_overrides(micro_overrides, "loop.judge_samples=3")
    one_cycle = Run(compose_config(with_overrides(overrides, "loop.cycles=1"))).run()
    resumed = Run(compose_config(overrides)).run()  # a second process continues it with cycle 1
    run_dir = run_dir_of(overrides, one_cycle)
    straight_overrides = with_overrides(overrides, f"output_dir={run_dir.parents[2] / 'straight'}")
    straight = Run(compose_config(straight_overrides)).run()
    straight_dir = run_dir_of(straight_overrides, straight)
    for cycle in (0, 1):
        assert len(judged_ids(run_dir, cycle)) == 3
        assert judged_ids(run_dir, cycle) == judged_ids(straight_dir, cycle)
    assert judged_ids(run_dir, 0) != judged_ids(run_dir, 1)
    assert [c["gen_n"] for c in resumed["cycles"]] == [3, 3]
    assert [c["gen_trait"] for c in resumed["cycles"]] == [c["gen_trait"] for c in straight["cycles"]]
    assert read_json(run_dir / "cycle_001" / "stats.json")["judge_samples"]["judge"] == {
        "setting": "3", "judged": 3, "of": 8}
    # which samples are judged is measurement: the models and their evals are those of judging all
    everything_overrides = with_overrides(micro_overrides, f"output_dir={run_dir.parents[2] / 'all'}")
    everything = Run(compose_config(everything_overrides)).run()
    assert [c["trait"] for c in everything["cycles"]] == [c["trait"] for c in straight["cycles"]]
    assert [c["gen_n"] for c in everything["cycles"]] == [16, 8]

    caplog.set_level(logging.INFO, logger="ampli")
    nothing = Run(compose_config(with_overrides(micro_overrides, "loop.judge_samples=none",
                                                f"output_dir={run_dir.parents[2] / 'none'}"))).run()
    assert [(c["gen_n"], c["gen_trait"], c["gen_coherence"]) for c in nothing["cycles"]] == [(0, None, None)] * 2
    assert [c["trait"] for c in nothing["cycles"]] == [c["trait"] for c in straight["cycles"]]
    cycle_lines = [r.getMessage() for r in caplog.records if "] cycle " in r.getMessage()]
    assert len(cycle_lines) == 2 and all("samples not judged" in line for line in cycle_lines)


def coherence_by_question(user: str, attempt: int) -> Reply:
    """Trait 50; coherence 90 or 10 by the question, so about half the samples pass a filter at 70."""
    question = re.search(r"\[QUESTION START\]\n(.*?)\n\[QUESTION END\]", user, re.S)[1]
    if user.startswith("I am grading how coherent"):
        return Reply(text="90" if len(question) % 2 else "10")
    return Reply(text="50")


def test_the_coherence_filter_judges_all_it_filters_says_so_and_trains_with_none(micro_overrides, caplog):
    caplog.set_level(logging.INFO, logger="ampli")
    with FakeJudgeServer(coherence_by_question) as server:
        overrides = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV), "judge.top_logprobs=0",
                                   "loop.judge_samples=none", "loop.coherence_filter.min=70",
                                   "loop.coherence_filter.oversample=2.5")
        summary = Run(compose_config(overrides)).run()
    run_dir = run_dir_of(overrides, summary)
    assert summary["status"] == "completed"
    assert any("loop.judge_samples=none applies to cycle 0 only" in r.getMessage() for r in caplog.records)
    assert judged_ids(run_dir, 0) == [] and summary["cycles"][0]["gen_trait"] is None
    assert len(judged_ids(run_dir, 1)) == 20 == summary["cycles"][1]["gen_n"]
    assert read_json(run_dir / "cycle_001" / "stats.json")["judge_samples"]["judge"]["forced_all_by"] == \
        "loop.coherence_filter.min=70"
    train = read_json(run_dir / "cycle_001" / "train.json")
    assert train["n_below_coherence"] > 0


@pytest.mark.parametrize("coherence_filter", [None, 70])
def test_an_api_judge_scores_while_the_model_trains_unless_the_filter_reads_the_scores(
        micro_overrides, monkeypatch, coherence_filter):
    """A cycle's training returns only once the judge has been asked about that cycle's samples, which it can only
    do while training runs unless it had finished before; with the coherence filter it must have finished before."""
    real_train = SFTRegime.train
    seen: list[tuple[int, str]] = []

    def train(self, ctx, plan, records):
        cycle = plan.cycle
        if (ctx.store.cycle_dir(cycle) / "judgments.jsonl").exists():
            seen.append((cycle, "scored before training"))
        else:
            question = f"[QUESTION START]\n{records[-1]['prompt']}\n[QUESTION END]"
            deadline = time.monotonic() + 30
            while not any(question in body["messages"][-1]["content"] for body in list(server.bodies)):
                assert time.monotonic() < deadline, "the judge was never asked while the model trained"
                time.sleep(0.02)
            seen.append((cycle, "asked while training"))
        return real_train(self, ctx, plan, records)

    monkeypatch.setattr(SFTRegime, "train", train)
    with FakeJudgeServer(score_by_text) as server:
        overrides = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV), "judge.concurrency=1",
                                   f"loop.coherence_filter.min={coherence_filter or 'null'}")
        summary = Run(compose_config(overrides)).run()
    run_dir = run_dir_of(overrides, summary)
    later = "scored before training" if coherence_filter else "asked while training"
    assert summary["status"] == "completed" and seen == [(0, "asked while training"), (1, later)]
    assert len(judged_ids(run_dir, 0)) == 16 and summary["cycles"][0]["gen_n"] == 16
    assert read_json(run_dir / "manifest.json")["completed"][-1] == "cycle_001/eval"
