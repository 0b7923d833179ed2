"""Batched sampling with transformers: prompts sorted by length and left-padded, so batches waste little compute
on padding."""

import torch
from tqdm.auto import tqdm

from ampli.record import console


def prompt_ids(tokenizer, prompts: list[str], chat: bool) -> list[list[int]]:
    """Token ids of prompts as training saw them: a rendered chat already holds its special tokens (BOS included,
    where the template has one); raw text (documents) gets the tokenizer's own, as TRL's text examples do."""
    return tokenizer(prompts, add_special_tokens=not chat)["input_ids"]


@torch.inference_mode()
def generate(
    model,
    tokenizer,
    prompts: list[str],
    *,
    max_new_tokens: int,
    temperature: float,
    batch_size: int,
    seed: int,
    chat: bool = True,
    desc: str = "generate",
    ends: list[bool] | None = None,
) -> list[str]:
    """Sample one completion per (already formatted) prompt; results come back in the input order. `ends`, when
    given, is filled in the same order with whether each completion ended by itself (its end-of-sequence token)
    rather than being cut at max_new_tokens."""
    if not prompts:
        return []
    model.eval()
    torch.manual_seed(seed)
    encoded = prompt_ids(tokenizer, prompts, chat)
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    outputs: list[str] = [""] * len(prompts)
    ended: list[bool] = [False] * len(prompts)
    device = next(model.parameters()).device
    with tqdm(total=len(prompts), desc=desc, unit="seq", leave=False, disable=not console.SHOW_BARS) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer.pad(
                {"input_ids": [encoded[i] for i in idx]}, padding=True, padding_side="left", return_tensors="pt"
            ).to(device)
            out = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                top_p=1.0,
                top_k=0,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            new_tokens = out[:, batch["input_ids"].shape[1] :]
            for i, text in zip(idx, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
                outputs[i] = text.strip()
            for i, stopped in zip(idx, (new_tokens == tokenizer.eos_token_id).any(dim=1).tolist()):
                ended[i] = stopped
            bar.update(len(idx))
    if ends is not None:
        ends[:] = ended
    return outputs
