"""The local TRL backend and the Tinker backend (the in-process fake service) execute the same training plan: the
same small runs agree cycle by cycle on what each side computed, not on the labels it wrote: the model a cycle
started from, the weights that answered the DPO reference's log-prob requests, the optimizer steps and the learning
rate each step was taken at."""

import pytest
from omegaconf import OmegaConf

from ampli.backends.tinker.datums import answer_sequences
from ampli.models.training_plan import BASE, plan_cycle
from ampli.record.store import read_json, read_jsonl
from tests.conftest import compose_config, with_overrides
from tests.fakes import tinker_service as fake
from tests.test_tinker_backend import TINKER, requests, run_loop

DPO_RESTART = ["regime=dpo", "reinit=false", "loop.cycles=3", "regime.restart_from_base_cycles=[2]",
               "regime.lr_scheduler=cosine", "regime.lr_min_ratio=0.5", "regime.grad_accum=2"]
COMPARED = ("start", "reference", "teacher", "loss", "examples", "batch_size", "grad_accum", "steps",
            "learning_rates", "kl_estimator")


def plans(run) -> list[dict]:
    return [read_json(run.store.cycle_dir(c) / "train.json") for c in range(run.cfg.loop.cycles)]


def both_backends(overrides: list[str], tmp_path, monkeypatch) -> tuple[list[dict], list[dict], object]:
    monkeypatch.setenv("TINKER_API_KEY", "test-key-not-a-secret")
    monkeypatch.setenv("AMPLI_FAKE_TINKER_DIR", str(tmp_path / "service"))
    fake.REQUESTS.clear()
    fake.FAULTS.clear()
    local_summary, local = run_loop(with_overrides(overrides, f"output_dir={tmp_path / 'local'}"))
    tinker_summary, tinker = run_loop(with_overrides(overrides, *TINKER, f"output_dir={tmp_path / 'tinker'}"))
    assert local_summary["status"] == tinker_summary["status"] == "completed"
    return plans(local), plans(tinker), tinker


def test_continual_dpo_with_a_restart_and_a_floored_cosine_trains_alike_on_both_backends(micro_overrides, tmp_path,
                                                                                      monkeypatch):
    local, tinker, run = both_backends(with_overrides(micro_overrides, *DPO_RESTART), tmp_path, monkeypatch)
    for cycle, (ours, theirs) in enumerate(zip(local, tinker)):
        assert {k: ours["plan"][k] for k in COMPARED} == {k: theirs["plan"][k] for k in COMPARED}, cycle
        assert ours["executed"] == theirs["executed"] and ours["train_steps"] == theirs["train_steps"]
        assert ours["started_from"] == theirs["started_from"] and ours["reference"] == theirs["reference"]
    assert [t["plan"]["start"] for t in tinker] == ["base", "model_0", "base"]  # cycle 2 restarts from the base
    assert [t["plan"]["reference"] for t in tinker] == ["base", "model_0", "base"]
    rates = tinker[1]["plan"]["learning_rates"]
    assert len(rates) > 1 and rates[-1] > 0.5 * rates[0] and tinker[1]["plan"]["grad_accum"] == 2
    # the weights that answered each reference request, as the fake service saw them
    ledger = read_json(run.store.root / "tinker.json")["weights"]
    cycle_of = {entry["sampler"]: int(cycle) for cycle, entry in ledger.items()} | {"base": BASE}
    answered = {tuple(r["prompt"]): cycle_of[r["weights"]] for r in requests("compute_logprobs")}
    expected_reference = {0: BASE, 1: 0, 2: BASE}
    for cycle, reference in expected_reference.items():
        pairs = read_jsonl(run.store.cycle_dir(cycle) / "generations.jsonl")
        prompts = [run.ctx.chat_prompt(p["prompt"], p.get("system")) for p in pairs]
        sequences = [s.tokens for key in ("chosen", "rejected")
                     for s in answer_sequences(run.ctx.tokenizer, prompts, [p[key] for p in pairs])]
        assert {answered[tuple(t)] for t in sequences} == {reference}, cycle


@pytest.mark.parametrize("regime", ["sft", "sdf"])
def test_supervised_cycles_take_the_same_steps_at_the_same_rates_on_both_backends(regime, micro_overrides, tmp_path,
                                                                                  monkeypatch):
    overrides = with_overrides(micro_overrides, f"regime={regime}", "reinit=false", "loop.cycles=2",
                               "regime.grad_accum=3", "regime.lr_scheduler=linear", "regime.warmup=0.25")
    local, tinker, _ = both_backends(overrides, tmp_path, monkeypatch)
    for ours, theirs in zip(local, tinker):
        assert {k: ours["plan"][k] for k in COMPARED} == {k: theirs["plan"][k] for k in COMPARED}
        assert ours["executed"] == theirs["executed"] and ours["plan"]["warmup_steps"] >= 1


def test_distillation_with_the_sampled_estimator_trains_alike_on_both_backends(micro_overrides, tmp_path,
                                                                              monkeypatch):
    overrides = with_overrides(micro_overrides, "regime=distill", "reinit=true", "loop.cycles=2",
                               "regime.kl_estimator=sampled", "regime.grad_accum=2")
    local, tinker, _ = both_backends(overrides, tmp_path, monkeypatch)
    for ours, theirs in zip(local, tinker):
        assert {k: ours["plan"][k] for k in COMPARED} == {k: theirs["plan"][k] for k in COMPARED}
        assert ours["executed"] == theirs["executed"]
    assert local[1]["plan"]["teacher"] == "model_0" and local[1]["kl_estimator"] == "sampled"
    assert local[1]["sampled_kl"] is not None  # logged by the sampled estimator's loss alone: it was computed


def test_paper_distill_plans_the_sampled_estimator():
    cfg = OmegaConf.to_object(compose_config(["experiment=paper_distill"]))
    assert plan_cycle(cfg, 1, examples=8).kl_estimator == "sampled" and plan_cycle(cfg, 0, 8).kl_estimator is None


@pytest.mark.parametrize("overrides, refused", [
    (["regime=distill", "regime.kl_estimator=full"], "regime.kl_estimator='full' is not valid with backend=tinker"),
    (["regime.cycle0_checkpoint=/nowhere"], "regime.cycle0_checkpoint"),
    (["model.lora.cover=[]"], "model.lora.cover=[] is not valid with backend=tinker"),
])
def test_what_the_service_cannot_honour_is_refused_at_start(overrides, refused):
    from ampli.config.schema import ConfigError, validate_tinker

    cfg = OmegaConf.to_object(compose_config(["backend=tinker", *overrides]))
    with pytest.raises(ConfigError, match=refused.replace("[", r"\[").replace("]", r"\]")):
        validate_tinker(cfg)


def test_the_unembedding_is_refused_on_the_local_backend():
    from ampli.config.schema import ConfigError, validate_model

    with pytest.raises(ConfigError, match="model.lora.unembed=true is not valid with backend=local"):
        validate_model(OmegaConf.to_object(compose_config(["model.lora.unembed=true"])))
    validate_model(OmegaConf.to_object(compose_config(["model.lora.unembed=true", "backend=tinker"])))
