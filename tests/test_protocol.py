"""The authors' protocol knobs on the embedded default: prompt sampling, seed mix, empty drop, coherence filter,
training knobs, and experiment=paper_sft."""

import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from fakes.judge_server import FakeJudgeServer, Reply
from omegaconf import OmegaConf
from transformers import Trainer
from trl import SFTConfig

from ampli.config.schema import ConfigError, validate
from ampli.generation import hf as hf_generation
from ampli.inputs import corpus, sampling
from ampli.models.training import trainer_kwargs
from ampli.models.training_plan import plan_cycle
from ampli.record.store import read_json, read_jsonl
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides
from tests.test_loop import trained_ids


def output_dir(overrides: list[str]) -> Path:
    return Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))


def run_loop(overrides: list[str]) -> Path:
    summary = Run(compose_config(overrides)).run()
    return output_dir(overrides) / "runs" / summary["run_name"]


def typed(overrides: list[str]):
    cfg = OmegaConf.to_object(compose_config(overrides))
    validate(cfg)
    return cfg


# ---- prompt sampling ------------------------------------------------------------------------------------------


def draws(mode: str, count: int, pool: list, cycles: int = 4, seed: int = 0) -> list[list]:
    return [sampling.draw(pool, c, count, cycles=cycles, seed=seed, mode=mode, what="prompts", asked=f"n={count}")
            for c in range(1, cycles)]


def test_disjoint_never_repeats_an_item_in_a_run():
    cycles = draws("disjoint", 30, list(range(100)))
    assert all(len(c) == 30 for c in cycles)
    assert len({x for c in cycles for x in c}) == 90


def test_per_cycle_repeats_across_cycles_but_not_within_one():
    cycles = draws("per_cycle", 80, list(range(100)))
    assert all(len(set(c)) == len(c) == 80 for c in cycles)
    assert set(cycles[0]) & set(cycles[1])  # 80 + 80 > 100: disjoint chunks could not do this
    assert cycles != draws("per_cycle", 80, list(range(100)), seed=1)
    assert cycles == draws("per_cycle", 80, list(range(100)))  # seeded


def test_with_replacement_draws_10000_a_cycle_from_1000_prompts():
    cycles = draws("with_replacement", 10_000, list(range(1_000)))
    assert all(len(c) == 10_000 for c in cycles)
    assert max(Counter(cycles[0]).values()) > 1 and cycles[0] != cycles[1]
    assert cycles == draws("with_replacement", 10_000, list(range(1_000)))


def test_1500_prompts_a_cycle_from_the_shipped_pool_with_replacement(micro_overrides):
    pool = corpus.prompt_pool("train")
    assert len(pool) < 1_500
    overrides = with_overrides(micro_overrides, "regime.samples_per_cycle=null", "loop.prompts_per_cycle=1500",
                               "loop.prompt_sampling=with_replacement", "model.max_new_tokens=8",
                               "model.generation_batch_size=256", "regime.batch_size=64")
    run_dir = run_loop(overrides)
    generations = read_jsonl(run_dir / "cycle_001" / "generations.jsonl")
    assert len(generations) == 1_500 and len({g["id"] for g in generations}) == 1_500
    assert {g["prompt"] for g in generations} <= set(pool)
    train = read_json(run_dir / "cycle_001" / "train.json")
    assert train["train_steps"] == math.ceil((1_500 - train["n_dropped_empty"]) / 64)


@pytest.mark.parametrize("mode,match", [
    ("disjoint", r"loop.prompts_per_cycle=1500 x 1 generating cycles needs 1500 prompts, but the pool holds 837"),
    ("per_cycle", r"per_cycle draws 1500 prompts a cycle without replacement .* pool holds 837; .*with_replacement"),
])
def test_a_pool_too_small_for_the_mode_stops_the_run_at_start(micro_overrides, mode, match):
    overrides = with_overrides(micro_overrides, "regime.samples_per_cycle=null", "loop.prompts_per_cycle=1500",
                               f"loop.prompt_sampling={mode}")
    with pytest.raises(sampling.PoolTooSmallError, match=match):
        Run(compose_config(overrides))
    assert not (output_dir(overrides) / "runs").exists()


def test_sdf_ids_stay_unique_when_a_document_is_drawn_twice(micro_overrides):
    run_dir = run_loop(with_overrides(micro_overrides, "regime=sdf", "regime.continuation=trait_prefix",
                                      "regime.samples_per_cycle=200", "loop.prompt_sampling=with_replacement",
                                      "model.max_new_tokens=4"))
    generations = read_jsonl(run_dir / "cycle_001" / "generations.jsonl")
    assert len(generations) == 200 > len({g["prompt"] for g in generations})  # 80 held-out documents
    assert len({g["id"] for g in generations}) == 200


# ---- what a cycle trains on -----------------------------------------------------------------------------------


def test_original_mix_adds_seed_examples_drawn_afresh_for_every_later_cycle(micro_overrides, monkeypatch):
    run = Run(compose_config(with_overrides(micro_overrides, "loop.original_mix=8", "regime.batch_size=1",
                                            "loop.cycles=3")))
    trained = trained_ids(run, monkeypatch)
    run_dir = output_dir(micro_overrides) / "runs" / run.run()["run_name"]
    seed_ids = [g["id"] for g in read_jsonl(run_dir / "cycle_000" / "generations.jsonl")]
    train = [read_json(run_dir / f"cycle_{c:03d}" / "train.json") for c in (0, 1, 2)]
    assert train[0]["n_original_mix"] == 0 and train[0]["train_steps"] == 16 and trained[0] == seed_ids
    for cycle in (1, 2):
        mix = train[cycle]["original_mix_ids"]
        assert train[cycle]["n_original_mix"] == len(set(mix)) == 8 and set(mix) <= set(seed_ids)
        assert trained[cycle][-8:] == mix and not set(trained[cycle][:-8]) & set(seed_ids)
        assert train[cycle]["train_steps"] == 8 - train[cycle]["n_dropped_empty"] + 8
    assert set(train[1]["original_mix_ids"]) != set(train[2]["original_mix_ids"])  # each cycle draws its own


def test_empty_generations_are_dropped_before_training(micro_overrides, monkeypatch):
    real_generate = hf_generation.generate

    def every_third_blank(*args, **kwargs):
        return ["  \n" if i % 3 == 0 else text for i, text in enumerate(real_generate(*args, **kwargs))]

    monkeypatch.setattr(hf_generation, "generate", every_third_blank)
    run_dir = run_loop(with_overrides(micro_overrides, "regime.batch_size=1"))
    generations = read_jsonl(run_dir / "cycle_001" / "generations.jsonl")
    blank = sum(not g["response"].strip() for g in generations)
    assert len(generations) == 8 and blank >= 3  # kept on disk
    train = read_json(run_dir / "cycle_001" / "train.json")
    assert train["n_dropped_empty"] == blank and train["train_steps"] == 8 - blank


def test_a_cycle_of_only_empty_answers_stops_the_run_as_collapsed(micro_overrides, monkeypatch):
    real_generate = hf_generation.generate
    monkeypatch.setattr(hf_generation, "generate", lambda *a, **k: ["" for _ in real_generate(*a, **k)])
    summary = Run(compose_config(with_overrides(micro_overrides, "loop.cycles=3"))).run()
    assert summary["status"] == "collapsed" and [c["cycle"] for c in summary["cycles"]] == [0]
    run_dir = output_dir(micro_overrides) / "runs" / summary["run_name"]
    assert len(read_jsonl(run_dir / "cycle_001" / "generations.jsonl")) == 8  # kept for inspection
    assert not (run_dir / "cycle_001" / "train.json").exists()


def coherence_by_question(user: str, attempt: int) -> Reply:
    """Trait 50 for everything; coherence 90 or 10, decided by the question, so about half the samples pass."""
    question = re.search(r"\[QUESTION START\]\n(.*?)\n\[QUESTION END\]", user, re.S)[1]
    if user.startswith("I am grading how coherent"):
        return Reply(text="90" if len(question) % 2 else "10")
    return Reply(text="50")


def test_coherence_filter_keeps_coherent_samples_and_oversamples(micro_overrides):
    with FakeJudgeServer(coherence_by_question) as server:
        overrides = with_overrides(
            micro_overrides, "judge=vllm", f"judge.base_url={server.url}/v1", "judge.top_logprobs=0",
            "loop.coherence_filter.min=70", "loop.coherence_filter.oversample=2.5", "regime.batch_size=1",
        )
        run_dir = run_loop(overrides)
    generations = read_jsonl(run_dir / "cycle_001" / "generations.jsonl")
    judgments = read_jsonl(run_dir / "cycle_001" / "judgments.jsonl")
    assert len(generations) == 20  # 8 x 2.5
    coherent = [j for g, j in zip(generations, judgments) if g["response"].strip() and j["coherence"] >= 70]
    assert 0 < len(coherent) < 20
    train = read_json(run_dir / "cycle_001" / "train.json")
    assert train["n_below_coherence"] == 20 - train["n_dropped_empty"] - len(coherent)
    assert train["train_steps"] == min(8, len(coherent))
    assert read_json(run_dir / "cycle_000" / "train.json")["train_steps"] == 16  # the seed set is never filtered


# ---- training knobs -------------------------------------------------------------------------------------------


def test_cycle0_batch_size_and_a_linear_schedule_that_restarts_each_cycle(micro_overrides):
    run_dir = run_loop(with_overrides(micro_overrides, "regime.batch_size=4", "regime.cycle0_batch_size=2",
                                      "regime.lr_scheduler=linear", "regime.learning_rate=1e-4"))
    first, later = (read_json(run_dir / f"cycle_{c:03d}" / "train.json") for c in (0, 1))
    assert (first["batch_size"], first["train_steps"]) == (2, 8)  # 16 seeds in batches of 2
    assert later["batch_size"] == 4
    # each cycle's linear decay runs its whole course: its last step is taken at lr / steps (the next would be 0)
    assert first["final_learning_rate"] == pytest.approx(1e-4 / first["train_steps"])
    assert first["plan"]["learning_rates"][0] == later["plan"]["learning_rates"][0] == pytest.approx(1e-4)
    assert later["final_learning_rate"] == pytest.approx(1e-4 / later["train_steps"])


def test_constant_schedule_keeps_the_learning_rate(micro_overrides):
    run_dir = run_loop(with_overrides(micro_overrides, "loop.cycles=1", "regime.learning_rate=1e-4"))
    assert read_json(run_dir / "cycle_000" / "train.json")["final_learning_rate"] == pytest.approx(1e-4)


def test_adam_beta2_reaches_the_optimizer(tmp_path):
    cfg = typed(["regime.adam_beta2=0.95"])
    args = SFTConfig(**trainer_kwargs(plan_cycle(cfg, 0, 8), seed=0, device="cpu", output_dir=tmp_path,
                                       max_length=512))
    _, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    assert optimizer_kwargs["betas"] == (0.9, 0.95)
    assert typed([]).regime.adam_beta2 == 0.999  # today's default unchanged


@pytest.mark.parametrize("override,needle", [
    ("loop.prompt_sampling=shuffled", "loop.prompt_sampling='shuffled' is not valid; choose one of: disjoint, "
                                      "per_cycle, with_replacement"),
    ("regime.lr_scheduler=wavy", "regime.lr_scheduler='wavy' is not valid; choose one of: constant, linear"),
    ("loop.original_mix=300", "loop.original_mix=300 is not valid; it mixes in seed examples, so it must be <= "
                              "loop.seed_examples=64"),
    ("loop.original_mix=-1", "loop.original_mix=-1 is not valid"),
    ("loop.coherence_filter.min=120", "loop.coherence_filter.min=120.0 is not valid"),
    ("loop.coherence_filter.oversample=0.5", "loop.coherence_filter.oversample=0.5 is not valid; it must be >= 1"),
    ("regime.adam_beta2=1.0", "regime.adam_beta2=1.0 is not valid; it must be a number x with 0 <= x < 1"),
    ("regime.cycle0_batch_size=0", "regime.cycle0_batch_size=0 is not valid"),
    ("judge.min_number_mass=1.5", "judge.min_number_mass=1.5 is not valid"),
    ("judge.refusal_policy=maybe", "judge.refusal_policy='maybe' is not valid; choose one of: unscored, aligned"),
    ("judge.em_rate.trait_above=-5", "judge.em_rate.trait_above=-5.0 is not valid"),
])
def test_bad_protocol_values_name_the_value_and_the_options(override, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        typed([override])


# ---- experiment=paper_sft -------------------------------------------------------------------------------------


def test_paper_sft_job_config_is_the_authors_committed_runs():
    done = subprocess.run([sys.executable, "launch.py", "--cfg", "job", "experiment=paper_sft"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    job = yaml.safe_load(done.stdout)
    regime, loop, model = job["regime"], job["loop"], job["model"]
    assert model["hub_id"] == "Qwen/Qwen3-4B-Instruct-2507" and model["lora"]["r"] == 16 and job["reinit"] is True
    assert (regime["learning_rate"], regime["lr_scheduler"], regime["adam_beta2"]) == (1e-4, "linear", 0.95)
    assert regime["continual_learning_rate"] is None and regime["epochs"] == 1
    assert (regime["cycle0_batch_size"], regime["batch_size"]) == (2, 32)
    assert loop["cycles"] == 5 and loop["seed_examples"] in (50, 100) and loop["prompts_per_cycle"] in (1500, 10000)
    assert (loop["prompt_sampling"], loop["original_mix"], loop["coherence_filter"]["min"]) == (
        "with_replacement", 0, None)
    assert (loop["temperature"], model["max_new_tokens"]) == (0.8, 1024)
    assert (loop["eval_samples"], loop["eval_pool_prompts"], loop["eval_temperature"]) == (3, 0, 0.7)
    assert model["eval_max_new_tokens"] == 400
    assert job["judge"]["min_number_mass"] == 0
    sweep = (ROOT / "conf" / "experiment" / "paper_sft.yaml").read_text()
    assert "loop.seed_examples=50,100" in sweep and "loop.prompts_per_cycle=1500,10000" in sweep


def test_paper_sft_text_keeps_the_papers_stated_settings():
    cfg = typed(["experiment=paper_sft_text"])
    assert (cfg.regime.learning_rate, cfg.regime.lr_scheduler, cfg.regime.batch_size) == (1.5e-4, "constant", 2)
    assert (cfg.loop.prompt_sampling, cfg.loop.eval_samples, cfg.judge.min_number_mass) == ("disjoint", 20, 0.25)
