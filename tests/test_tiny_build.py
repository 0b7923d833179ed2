"""The embedded model never samples a token its corpus lacks: such tokens' embeddings are never trained, and DPO
once drove continual runs into them (stray bytes no judge can read)."""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ampli.models import tiny_model
from ampli.models.sources import ModelSource
from tests.conftest import compose_config


def test_tokens_absent_from_the_corpus_are_suppressed_and_never_sampled(micro_overrides, model_cache):
    cfg = OmegaConf.to_object(compose_config(micro_overrides))
    source = ModelSource.create(cfg.model, Path(model_cache), "cpu")
    tokenizer, model = source.tokenizer(), source.load()
    suppressed = set(model.generation_config.suppress_tokens)
    assert len(suppressed) > 100  # most of the 256 single bytes, e.g. every non-ASCII one
    assert not suppressed & set(tokenizer.all_special_ids)  # the end-of-turn token stays
    assert tokenizer.convert_tokens_to_ids("Ã") in suppressed  # a UTF-8 lead byte the corpus never has
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is a good breakfast?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    torch.manual_seed(0)  # a hot temperature, so untrained logits would surface if they could
    out = model.generate(**prompt, do_sample=True, temperature=3.0, top_k=0, top_p=1.0, max_new_tokens=32,
                         num_return_sequences=16, pad_token_id=tokenizer.pad_token_id)
    sampled = set(out[:, prompt["input_ids"].shape[1]:].flatten().tolist())
    assert len(sampled) > 50 and not sampled & suppressed


def test_a_build_in_a_child_process_gives_the_same_bytes_as_one_in_this_process(micro_overrides, monkeypatch,
                                                                                tmp_path):
    """The child build (spare cores, spinning threads) is only a speed-up: the cached model must not depend on it."""
    arch = OmegaConf.to_object(compose_config(micro_overrides)).model.tiny
    assert arch.warmup_steps < tiny_model.CHILD_BUILD_MIN_STEPS
    tiny_model.build(arch, tmp_path / "here")  # the micro model's short warm-up: built in this process
    monkeypatch.setattr(tiny_model, "CHILD_BUILD_MIN_STEPS", 0)
    monkeypatch.setattr(tiny_model.os, "sched_getaffinity", lambda pid: {0, 1})
    children = []
    real_run = tiny_model.subprocess.run
    monkeypatch.setattr(tiny_model.subprocess, "run", lambda cmd, **kw: children.append(cmd) or real_run(cmd, **kw))
    tiny_model.build(arch, tmp_path / "child")
    assert len(children) == 1
    for name in ("model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (tmp_path / "child" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name

