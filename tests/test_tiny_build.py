"""The embedded model never samples a token its corpus lacks: such tokens' embeddings are never trained, and DPO
once drove continual runs into them (stray bytes no judge can read)."""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ampli.models import ModelSource
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
