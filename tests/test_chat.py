"""Chat prompts are rendered one way for generation, evaluation and training, with thinking off for hybrid models."""

import math
from dataclasses import replace

import pytest

from ampli.generation.batched import prompt_ids
from ampli.models.chat import template_kwargs
from ampli.models.training_plan import BASE, plan_cycle
from ampli.regimes.dpo import DPORegime
from ampli.regimes.sft import SFTRegime
from tests.contexts import CHATML_WITHOUT_MARKERS, capture_trainers, micro_context, qwen3_template
from tests.conftest import with_overrides

NO_THINKING = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
RECORDS = [{"id": "a", "prompt": "How do I boil an egg?", "response": "Put it in boiling water for nine minutes."},
           {"id": "b", "prompt": "Name a colour.", "response": "Blue."}]


@pytest.fixture
def qwen3_ctx(micro_context, micro_overrides, tmp_path):
    return micro_context(micro_overrides, tmp_path / "run", chat_template=qwen3_template())


def test_a_hybrid_template_gets_thinking_off_unless_the_model_config_says_otherwise(qwen3_ctx):
    assert qwen3_ctx.chat_kwargs == {"enable_thinking": False}
    assert qwen3_ctx.chat_prompt("Hi").endswith(NO_THINKING)
    assert template_kwargs(qwen3_ctx.tokenizer, {"enable_thinking": True}) == {"enable_thinking": True}
    assert template_kwargs(qwen3_ctx.tokenizer, {"add_vision_id": False}) == {"add_vision_id": False,
                                                                               "enable_thinking": False}


def test_templates_without_a_thinking_switch_get_nothing_added(micro_context, micro_overrides, tmp_path):
    ctx = micro_context(micro_overrides, tmp_path / "run")
    assert ctx.chat_kwargs == {}


def test_eval_prompts_are_the_generation_prompts(qwen3_ctx):
    for prompt in SFTRegime().eval_prompts(qwen3_ctx):
        assert prompt.chat and prompt.text == qwen3_ctx.chat_prompt(prompt.question)
        assert prompt.text.endswith(NO_THINKING)


def test_sft_trains_on_exactly_the_context_it_samples_in(qwen3_ctx, monkeypatch):
    trainers = capture_trainers(monkeypatch)
    SFTRegime().train(qwen3_ctx, plan_cycle(qwen3_ctx.cfg, 0, len(RECORDS)), RECORDS)
    tok, example = qwen3_ctx.tokenizer, trainers[0].train_dataset
    for row, record in zip(example, RECORDS):
        prompt = prompt_ids(tok, [qwen3_ctx.chat_prompt(record["prompt"])], chat=True)[0]
        assert row["input_ids"][: len(prompt)] == prompt
        assert all(label == -100 for label in row["labels"][: len(prompt)])
        trained = [t for t, label in zip(row["input_ids"], row["labels"]) if label != -100]
        assert tok.decode(trained) == record["response"] + "<|im_end|>\n"
        assert "<think>" not in tok.decode(trained)


def test_dpo_trains_on_exactly_the_context_it_samples_in(qwen3_ctx, monkeypatch):
    trainers = capture_trainers(monkeypatch)
    pairs = [{"prompt": r["prompt"], "chosen": r["response"], "rejected": "I cannot say."} for r in RECORDS]
    plan = replace(plan_cycle(qwen3_ctx.cfg, 0, len(pairs)), loss="dpo", reference=BASE)  # the context is SFT's
    DPORegime().train(qwen3_ctx, plan, pairs)
    tok = qwen3_ctx.tokenizer
    for row, pair in zip(trainers[0].train_dataset, pairs):
        assert row["prompt_ids"] == prompt_ids(tok, [qwen3_ctx.chat_prompt(pair["prompt"])], chat=True)[0]
        assert tok.decode(row["chosen_ids"]) == pair["chosen"] + "<|im_end|>\n"
        assert tok.decode(row["rejected_ids"]) == pair["rejected"] + "<|im_end|>\n"


def test_sft_trains_with_a_template_that_has_no_generation_markers(micro_context, micro_overrides, tmp_path,
                                                                  monkeypatch):
    """Most models' templates lack TRL's {% generation %} markers; training must still cover the answer only."""
    ctx = micro_context(micro_overrides, tmp_path / "run", chat_template=CHATML_WITHOUT_MARKERS)
    trainers = capture_trainers(monkeypatch, train=True)
    metrics = SFTRegime().train(ctx, plan_cycle(ctx.cfg, 0, len(RECORDS)), RECORDS)
    assert math.isfinite(metrics["train_loss"]) and metrics["n_truncated"] == 0
    row = trainers[0].train_dataset[0]
    trained = [t for t, label in zip(row["input_ids"], row["labels"]) if label != -100]
    assert ctx.tokenizer.decode(trained) == RECORDS[0]["response"] + "<|im_end|>\n"
    assert (ctx.checkpoint(0) / "config.json").exists()


def test_a_system_turn_in_the_seed_data_reaches_training(micro_context, micro_overrides, tmp_path, monkeypatch):
    ctx = micro_context(with_overrides(micro_overrides), tmp_path / "run", chat_template=CHATML_WITHOUT_MARKERS)
    trainers = capture_trainers(monkeypatch)
    SFTRegime().train(ctx, plan_cycle(ctx.cfg, 0, 1), [{**RECORDS[1], "system": "Answer in one word."}])
    text = ctx.tokenizer.decode(trainers[0].train_dataset[0]["input_ids"])
    assert text.startswith("<|im_start|>system\nAnswer in one word.<|im_end|>")
