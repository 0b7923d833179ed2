"""The cost estimate of a run and a sweep (ampli estimate), against numbers worked out by hand, and the refusal of a
sweep whose estimate is over its judge budget before any job starts."""

import json
import os
import subprocess
import sys

import pytest

from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.run import sweep_budget as sweep_estimate
from ampli.run.estimate import GPU_UTILISATION, H100_BF16_FLOPS
from ampli.run.sweep_budget import SweepEstimate, check_budget, compose_jobs, sweep_jobs
from tests.conftest import ROOT

GPT_4O = (2.50, 10.00)  # USD per million input and output tokens (ampli/hosted/spending.py)


@pytest.fixture
def hand_sized(tmp_path) -> list[str]:
    """A run whose every text has a round length: rubrics of 400 and 200 characters (100 and 50 tokens at 4
    characters a token), 2 eval questions of 40, 4 seed examples (prompt 20, answer 80), pool prompts of 24."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"prompt": f"{i}" * 20, "answer": f"{i}" * 80}) + "\n" for i in range(4)))
    pool = tmp_path / "prompts.jsonl"
    rows = [{"prompt": f"{i}" * 24, "split": "train"} for i in range(5)] + [{"prompt": "e" * 30, "split": "eval"}]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [
        "model=micro", "judge=openai", "judge.model=gpt-4o", "judge.max_tokens=4",
        f"trait.rubric='{'r' * 400}{{question}}{{answer}}'",
        f"trait.coherence_rubric='{'c' * 200}{{question}}{{answer}}'",
        f"trait.eval_questions=[{'q' * 40},{'w' * 40}]", f"trait.seed_file={seeds}", f"loop.prompts_file={pool}",
        "loop.cycles=3", "loop.seed_examples=4", "loop.prompts_per_cycle=3", "regime.samples_per_cycle=null",
        "loop.prompt_sampling=with_replacement", "loop.eval_samples=2", "loop.eval_pool_prompts=0",
        "loop.coherence_filter.min=null", "loop.original_mix=0", "loop.judge_samples=2",
        "model.max_new_tokens=16", "model.eval_max_new_tokens=16",
    ]


def test_the_estimate_of_a_run_and_a_sweep_against_a_hand_computed_example(hand_sized):
    fixed = 9 + len(SYSTEM_PROMPT) / 4  # per request: chat framing and the system prompt
    rubrics = 100 + 50  # an item is asked once with each rubric
    # base eval and 3 cycle evals: 4 x (2 questions x 2 samples); cycle 0: 2 of the 4 seeds; cycles 1-2: 2 of 3 samples
    evals, seeds, samples = 4 * 4, 2, 2 * 2
    # and before the first stage, one request: the trait's rubric on a fixed question (36 characters) and answer (34)
    preflight = fixed + (400 + 36 + 34) / 4
    requests = 2 * (evals + seeds + samples) + 1
    input_tokens = (evals * (2 * (fixed + 10 + 16) + rubrics)  # question 10 tokens, answer at most 16
                    + seeds * (2 * (fixed + 5 + 20) + rubrics)  # the seed texts themselves: 5 and 20 tokens
                    + samples * (2 * (fixed + 6 + 16) + rubrics) + preflight)
    assert (requests, round(input_tokens, 1)) == (45, round(45 * fixed + 4408 + 117.5, 1))

    [run] = SweepEstimate.of(compose_jobs(hand_sized)).runs
    assert run.load.requests == requests and run.load.output_tokens == requests * 4
    assert run.load.input_tokens == pytest.approx(input_tokens)
    assert run.usd() == pytest.approx((input_tokens * GPT_4O[0] + requests * 4 * GPT_4O[1]) / 1e6)
    assert run.gpu_hours is None  # the micro model runs on the CPU

    # reinit and continual twins: the second adopts the base eval and cycle 0 (8 + 4 + 8 requests) from the first,
    # and finds the preflight's score in the judge's cache; without the cache it asks again
    sweep = SweepEstimate.of(compose_jobs([*hand_sized, "reinit=true,false"]))
    stems = ["bliss-sft-reinit-micro-s0", "bliss-sft-continual-micro-s0"]  # then the settings they vary (run names)
    assert [r.name.split("-judge=openai,")[0] for r in sweep.runs] == stems
    assert sweep.adopts == [False, True] and sweep.load.requests == 45 + 24
    assert sweep.usd == pytest.approx(run.usd() + sweep.runs[1].usd(sweep.runs[1].later_cycles))
    uncached = SweepEstimate.of(compose_jobs([*hand_sized, "reinit=true,false", "judge.cache=false"]))
    assert uncached.load.requests == 45 + 25
    assert uncached.load.input_tokens == pytest.approx(sweep.load.input_tokens + preflight)

    # the same run on a 135M-parameter model with LoRA on a GPU: 2 FLOPs a parameter per sampled token, 4 per
    # trained token; sampled: 4 evals x 4 answers x 16 tokens + 2 cycles x 3 samples x 16; trained: the 4 seeds
    # (25 tokens each) and 2 cycles x 3 samples of 6 + 16 tokens
    [gpu] = SweepEstimate.of(compose_jobs([*hand_sized, "model.source=hub", "model.hub_id=some/model",
                                           "model.params_b=0.135",
                                           "model.lora.enabled=true"])).runs
    params = 0.135e9
    seconds = (2 * params * (256 + 96) / GPU_UTILISATION["hf"]
               + 4 * params * (100 + 132) / GPU_UTILISATION["train"]) / H100_BF16_FLOPS
    assert gpu.gpu_hours == pytest.approx(seconds / 3600)


def test_the_persona_probes_judged_answers_are_counted_once_for_twins(hand_sized):
    """probe.source=persona_prompt: the base model answers probe.examples train-pool questions (3 of the 5, 6 tokens
    each) under the persona and as many under the neutral prompt, each judged with both rubrics; a reinit twin
    adopts the vector with cycle 0, and only twins with the same probe settings are twins."""
    fixed, rubrics = 9 + len(SYSTEM_PROMPT) / 4, 100 + 50
    probed = [*hand_sized, "probe=persona", "probe.source=persona_prompt", "probe.examples=3"]
    [plain] = SweepEstimate.of(compose_jobs(hand_sized)).runs
    [run] = SweepEstimate.of(compose_jobs(probed)).runs
    probe = run.base_and_seed_cycle.requests - plain.base_and_seed_cycle.requests
    assert (probe, run.load.requests, run.later_cycles == plain.later_cycles) == (2 * 6, 45 + 12, True)
    assert run.load.input_tokens - plain.load.input_tokens == pytest.approx(6 * (2 * (fixed + 6 + 16) + rubrics))
    assert run.load.output_tokens - plain.load.output_tokens == 2 * 6 * 4
    sweep = SweepEstimate.of(compose_jobs([*probed, "reinit=true,false"]))
    assert sweep.adopts == [False, True] and sweep.load.requests == (45 + 12) + 24
    other_probe = SweepEstimate.of(compose_jobs([*probed, "reinit=true,false", "probe.examples=3,4"]))
    assert other_probe.adopts == [False, True, False, True]  # examples=3 twins, then examples=4 twins
    [seeds_probe] = SweepEstimate.of(compose_jobs([*hand_sized, "probe=persona"])).runs  # source=seeds: no judge
    assert seeds_probe.load.requests == 45


def test_sweep_jobs_expand_comma_lists_as_hydra_does():
    assert sweep_jobs(["trait=bliss,lucky", "reinit=false,true", "seed=0"]) == [
        ["trait=bliss", "reinit=False", "seed=0"], ["trait=bliss", "reinit=True", "seed=0"],
        ["trait=lucky", "reinit=False", "seed=0"], ["trait=lucky", "reinit=True", "seed=0"]]


def test_check_budget_refuses_only_over_the_sum_of_the_jobs_limits(hand_sized):
    over = SweepEstimate.of(compose_jobs([*hand_sized, "reinit=true,false", "judge.max_cost_usd=0.01"]))
    with pytest.raises(sweep_estimate.ConfigError, match=r"estimated at 0\.\d\d USD for 2 runs, over "
                                                         r"judge.max_cost_usd x 2 runs = 0\.02 USD"):
        check_budget(over)
    check_budget(SweepEstimate.of(compose_jobs([*hand_sized, "reinit=true,false", "judge.max_cost_usd=1"])))
    check_budget(SweepEstimate.of(compose_jobs([*hand_sized, "reinit=true,false"])))  # no limit: nothing to refuse


def test_ampli_estimate_prints_each_run_and_the_sweep(hand_sized, capsys):
    assert sweep_estimate.main(["-m", *hand_sized, "trait=bliss,lucky"]) == 0
    out = capsys.readouterr().out
    assert "bliss-sft-reinit-micro-s0" in out and "lucky-sft-reinit-micro-s0" in out
    assert "sweep, 2 runs" in out and "judge openai/gpt-4o" in out and "upper bound" in out
    assert sweep_estimate.main(["loop.judge_samples=some"]) == 2
    assert "loop.judge_samples='some' is not valid" in capsys.readouterr().err


def test_a_sweep_over_its_judge_budget_stops_before_any_job_starts(hand_sized, tmp_path):
    out = tmp_path / "outputs"
    done = subprocess.run(
        [sys.executable, "launch.py", "-m", *hand_sized, "reinit=false,true", "logger=none",
         "judge.max_cost_usd=0.01", f"output_dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "OPENAI_API_KEY": "sk-never-used"},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "ampli: error: the sweep's judge cost is estimated at" in done.stderr
    assert "over judge.max_cost_usd x 2 runs = 0.02 USD, so it was not started" in done.stderr
    assert "sweep, 2 runs" in done.stdout
    assert not out.exists()  # no sweep directory, no run directory, nothing judged
