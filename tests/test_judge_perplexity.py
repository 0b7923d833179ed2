"""Perplexity of responses given prompts, batched, checked against one-pair-at-a-time forward passes."""

import math

import pytest
import torch
import torch.nn.functional as F
from fakes.tiny_lm import tiny_model, tiny_tokenizer

from ampli.generation.perplexity import perplexity

PROMPTS = ["how are you", "rate this answer with a number please", "the question", "is this happy"]
RESPONSES = ["calm happy joy", "42", "sad sad the a question answer how", ""]


def reference(model, tokenizer, prompt: str, response: str) -> float:
    p = tokenizer(prompt).input_ids
    r = tokenizer(response, add_special_tokens=False).input_ids
    if not r:
        return math.nan
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([p + r])).logits[0]
    return math.exp(F.cross_entropy(logits[len(p) - 1 : -1], torch.tensor(r)).item())


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_batched_perplexity_matches_single_pairs(padding_side: str, batch_size: int):
    tokenizer = tiny_tokenizer()
    tokenizer.padding_side = padding_side
    model = tiny_model(len(tokenizer))
    expected = [reference(model, tokenizer, p, r) for p, r in zip(PROMPTS, RESPONSES)]
    actual = perplexity(model, tokenizer, PROMPTS, RESPONSES, batch_size=batch_size)
    assert actual[:3] == pytest.approx(expected[:3], rel=1e-4)
    assert math.isnan(actual[3])
    # a random model over this vocabulary is near-uniform: perplexity near the vocabulary size
    assert all(len(tokenizer) / 4 < value < len(tokenizer) * 4 for value in actual[:3])
