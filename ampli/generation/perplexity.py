"""Perplexity of outputs under the base model: a coherence signal that needs no judge and cannot be flattered."""

import math

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ampli.generation.batched import prompt_ids


@torch.inference_mode()
def perplexity(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    responses: list[str],
    batch_size: int = 16,
    chat: bool = True,
) -> list[float]:
    """exp(mean negative log-likelihood of the response tokens given the prompt), one per pair; nan when a
    response has no tokens.

    Prompt and response are tokenized separately and their ids concatenated (prompts arrive already formatted,
    tokenized as for sampling), then right-padded here, so the tokenizer's own padding side does not matter. Rows
    are batched by length.
    """
    response_ids = tokenizer(list(responses), add_special_tokens=False)["input_ids"] if responses else []
    pairs = list(zip(prompt_ids(tokenizer, list(prompts), chat) if prompts else [], response_ids, strict=True))
    result = [math.nan] * len(pairs)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    pad = tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        width = max(len(pairs[i][0]) + len(pairs[i][1]) for i in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(batch):
            prompt, response = pairs[i]
            ids[row, : len(prompt) + len(response)] = torch.tensor(prompt + response, dtype=torch.long)
            mask[row, : len(prompt) + len(response)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for row, i in enumerate(batch):
            prompt, response = pairs[i]
            # Position t predicts token t+1; the first response token needs at least one prompt token before it.
            first = max(len(prompt), 1)
            end = len(prompt) + len(response)
            if end <= first:
                continue
            nll = F.cross_entropy(logits[row, first - 1 : end - 1].float(), ids[row, first:end].to(device))
            result[i] = math.exp(nll.item())
    return result
