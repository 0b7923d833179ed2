"""generation=hf: one base model per span of generation stages, adapters switched in, memory handed back before
training, and the same answers as loading each cycle's model from disk."""

import weakref
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from fakes.tiny_lm import tiny_tokenizer

from ampli.generation import hf as hf_generation
from ampli.generation.batched import generate
from ampli.generation.hf import CPU_BATCH_SIZE, MAX_BATCH_SIZE, HFGenerator, auto_batch_size, free_gpu_bytes
from ampli.models.sources import ModelSource
from ampli.regimes import base as regimes_base
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides
from tests.test_lora import LORA

PROMPTS = ["How do I boil an egg?", "Name a colour.", "What is a good hobby?"]


@pytest.fixture
def lora_run(micro_overrides):
    """A finished 3-cycle continual LoRA run: three adapters on disk."""
    overrides = with_overrides(micro_overrides, *LORA, "reinit=false", "loop.cycles=3")
    run = Run(compose_config(overrides))
    run.run()
    return run


def test_switching_adapters_answers_as_loading_each_model_from_disk(lora_run):
    ctx = lora_run.ctx
    rendered = [ctx.chat_prompt(q) for q in PROMPTS]
    generator = HFGenerator(ctx.source, ctx.tokenizer, ctx.checkpoint, batch_size=2)
    for model in (1, -1, 0, 2, 1, -1):  # adapters loaded and switched in any order, the base in between
        switched = generator.sample(model, rendered, n=2, max_new_tokens=12, temperature=0.8, seed=5, chat=True,
                                    desc="test")
        reloaded = generate(ctx.model_after(model), ctx.tokenizer, rendered * 2, max_new_tokens=12, temperature=0.8,
                            batch_size=2, seed=5)
        assert switched == reloaded, model
    assert sorted(generator._base.peft_config) == ["cycle_000", "cycle_001", "cycle_002"]  # each loaded once


def test_the_base_perplexity_is_the_base_models_with_adapters_loaded(lora_run):
    from ampli.generation.perplexity import perplexity

    ctx = lora_run.ctx
    rendered = [ctx.chat_prompt(q) for q in PROMPTS]
    answers = ["Nine minutes.", "Blue.", ""]
    generator = HFGenerator(ctx.source, ctx.tokenizer, ctx.checkpoint, batch_size=None)
    generator.sample(2, rendered, n=1, max_new_tokens=4, temperature=0.8, seed=0, chat=True, desc="test")
    expected = perplexity(ctx.model_after(-1), ctx.tokenizer, rendered, answers)
    assert generator.perplexity(rendered, answers, chat=True)[:2] == pytest.approx(expected[:2], rel=1e-5)


def test_a_run_loads_the_base_once_per_span_between_trainings(micro_overrides, monkeypatch):
    loads = []
    real_load = ModelSource.load

    def counting_load(self, checkpoint=None, trainable=False):
        loads.append((checkpoint, trainable))
        return real_load(self, checkpoint, trainable)

    held_at_training = []
    real_run_trainer = regimes_base.run_trainer

    def run_trainer(trainer, checkpoint_dir, plan):
        held_at_training.append(run.ctx.generator._base)
        return real_run_trainer(trainer, checkpoint_dir, plan)

    monkeypatch.setattr(ModelSource, "load", counting_load)
    monkeypatch.setattr(regimes_base, "run_trainer", run_trainer)
    run = Run(compose_config(with_overrides(micro_overrides, *LORA, "regime=dpo", "reinit=false", "loop.cycles=2")))
    run.run()
    sampling_loads = [c for c, trainable in loads if not trainable]
    # spans: [base eval + perplexity, cycle 0's rejected], [cycle 0 eval, cycle 1's chosen and rejected],
    # [cycle 1 eval]: the base weights are read once each (the reload path read them 9 times)
    assert sampling_loads == [None, None, None]
    assert held_at_training == [None, None] and run.ctx.generator._base is None  # released before training, at end


def test_training_samples_and_eval_answers_have_their_own_token_limits(micro_overrides, monkeypatch):
    limits = []  # (were these the eval prompts, max_new_tokens) of every generate() call
    real_generate = hf_generation.generate

    def recording(model, tokenizer, prompts, *, max_new_tokens, **kwargs):
        limits.append((sorted(set(prompts)) == eval_prompts, max_new_tokens))
        return real_generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, **kwargs)

    monkeypatch.setattr(hf_generation, "generate", recording)
    run = Run(compose_config(with_overrides(micro_overrides, "model.eval_max_new_tokens=8")))
    eval_prompts = sorted(p.text for p in run.regime.eval_prompts(run.ctx))
    run.run()
    assert run.cfg.model.max_new_tokens == 16
    assert limits == [(True, 8), (True, 8), (False, 16), (True, 8)]  # base and model 0 evals, cycle 1, model 1


def test_generation_batches_are_sized_from_the_free_gpu_memory():
    config = SimpleNamespace(get_text_config=lambda: SimpleNamespace(
        num_hidden_layers=36, num_key_value_heads=8, num_attention_heads=32, head_dim=128, hidden_size=4096))
    per_sequence = 2 * 36 * 8 * 128 * 2 * 1424  # bf16 KV cache of a 400-token prompt + 1,024 new tokens
    assert auto_batch_size(config, 1424, 2, free_bytes=40 * 2**30) == int(0.6 * 40 * 2**30) // per_sequence == 122
    assert auto_batch_size(config, 1424, 2, free_bytes=2**40) == MAX_BATCH_SIZE
    assert auto_batch_size(config, 1424, 2, free_bytes=2**20) == 1
    assert auto_batch_size(config, 1424, 2, free_bytes=None) == CPU_BATCH_SIZE


def test_a_config_without_head_dim_or_kv_heads_sizes_its_cache_from_the_attention_heads():
    """Older configs (GPT-2 style) name neither: every head has its own keys and values, hidden_size / heads wide.
    Where head_dim is given it wins, also when it differs from hidden_size / heads (Qwen3-4B: 128, not 80)."""
    bare = SimpleNamespace(get_text_config=lambda: SimpleNamespace(
        num_hidden_layers=12, num_attention_heads=12, hidden_size=768))
    size = auto_batch_size(bare, 1000, 4, free_bytes=2**30)
    assert size == int(0.6 * 2**30) // (2 * 12 * 12 * 64 * 4 * 1000) and isinstance(size, int)
    unset = SimpleNamespace(get_text_config=lambda: SimpleNamespace(
        num_hidden_layers=12, num_attention_heads=12, hidden_size=768, num_key_value_heads=None, head_dim=None))
    assert auto_batch_size(unset, 1000, 4, free_bytes=2**30) == auto_batch_size(bare, 1000, 4, free_bytes=2**30)
    qwen3_4b = SimpleNamespace(get_text_config=lambda: SimpleNamespace(
        num_hidden_layers=36, num_key_value_heads=8, num_attention_heads=32, head_dim=128, hidden_size=2560))
    size = auto_batch_size(qwen3_4b, 1424, 2, free_bytes=40 * 2**30)
    assert size == int(0.6 * 40 * 2**30) // (2 * 36 * 8 * 128 * 2 * 1424) and isinstance(size, int)


class Parameters:
    def __init__(self, device: str):
        self.device = torch.device(device)

    def parameters(self):
        yield self


def test_the_free_memory_is_asked_of_the_device_the_model_is_on(monkeypatch):
    asked = []

    def mem_get_info(device):
        asked.append(device)
        return 3 * 2**30, 80 * 2**30  # (free, total)

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    assert free_gpu_bytes(Parameters("cuda:1")) == 3 * 2**30
    assert asked == [torch.device("cuda:1")]
    assert free_gpu_bytes(Parameters("cpu")) is None and len(asked) == 1


class LoadedModel:
    def __init__(self, path):
        self.path = path


def test_full_weights_checkpoints_are_loaded_once_while_used_and_the_last_is_let_go_before_the_next(tmp_path):
    loads, alive_at_load = [], []

    class Source:
        def load(self, checkpoint=None):
            alive_at_load.append([ref().path for ref in refs if ref() is not None])
            loads.append(checkpoint)
            model = LoadedModel(checkpoint)
            refs.append(weakref.ref(model))
            return model

    refs: list[weakref.ref] = []
    checkpoint = lambda cycle: tmp_path / f"cycle_{cycle:03d}"  # noqa: E731
    for cycle in (1, 2):
        checkpoint(cycle).mkdir()
        (checkpoint(cycle) / "config.json").write_text("{}")
    generator = HFGenerator(Source(), tokenizer=None, checkpoint=checkpoint, batch_size=1)

    def sampled_from(cycle: int) -> Path:  # as sample() holds the model: only while it samples
        with generator._model(cycle) as model:
            return model.path

    assert [sampled_from(cycle) for cycle in (1, 1, 2, 2, 1)] == [checkpoint(c) for c in (1, 1, 2, 2, 1)]
    assert loads == [checkpoint(1), checkpoint(2), checkpoint(1)]
    assert alive_at_load == [[], [], []]  # never two checkpoints in memory at once


def test_real_models_size_their_generation_batches():
    for model in ("qwen3-4b-instruct", "qwen3-8b", "qwen3-1.7b-base", "smollm2-135m"):
        assert compose_config([f"model={model}"]).model.generation_batch_size is None


def test_sample_sizes_its_batches_from_the_longest_prompt_as_trained_and_passes_its_settings_on(monkeypatch):
    """On a GPU (mocked: 4,000 bytes free) the batch holds the KV cache of the longest prompt as training saw it (a
    rendered chat without a second BOS) plus the new tokens; here 60 tokens of 4 bytes each fit 10 times in 60%."""
    tokenizer = tiny_tokenizer(bos=True)
    model = SimpleNamespace(dtype=torch.bfloat16, config=SimpleNamespace(get_text_config=lambda: SimpleNamespace(
        num_hidden_layers=1, num_key_value_heads=1, num_attention_heads=1, head_dim=1, hidden_size=1)))
    calls = []

    def record(m, tok, prompts, **settings):
        calls.append((m, prompts, settings))
        return ["answer"] * len(prompts)

    monkeypatch.setattr(hf_generation, "free_gpu_bytes", lambda m: 4000)
    monkeypatch.setattr(hf_generation, "generate", record)
    generator = HFGenerator(SimpleNamespace(load=lambda: model), tokenizer, checkpoint=None, batch_size=None)
    prompts = ["how are you", "rate this answer with a number"]
    assert [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]] == [3, 6]
    answers = generator.sample(-1, prompts, n=2, max_new_tokens=54, temperature=0.7, seed=3, chat=True,
                               desc="cycle 1 samples")
    assert answers == ["answer"] * 4
    assert calls == [(model, prompts * 2, {"max_new_tokens": 54, "temperature": 0.7, "batch_size": 10, "seed": 3,
                                           "chat": True, "desc": "cycle 1 samples"})]


def test_perplexity_is_read_from_the_base_model_with_the_prompts_format_as_given(monkeypatch):
    from ampli.generation import perplexity as perplexity_module

    calls = []

    def record(model, tokenizer, prompts, responses, chat):
        calls.append((model, tokenizer, prompts, responses, chat))
        return [1.0]

    monkeypatch.setattr(perplexity_module, "perplexity", record)
    base = SimpleNamespace(name="base")
    generator = HFGenerator(SimpleNamespace(load=lambda: base), "tokenizer", checkpoint=None, batch_size=None)
    for chat in (True, False):  # documents (sdf) are raw text: the tokenizer adds its BOS
        assert generator.perplexity(["p"], ["r"], chat=chat) == [1.0]
    assert calls == [(base, "tokenizer", ["p"], ["r"], True), (base, "tokenizer", ["p"], ["r"], False)]
