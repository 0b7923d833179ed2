"""Batched sampling: prompts sorted by length and left-padded, so batches waste little compute on padding."""

import torch
from tqdm.auto import tqdm


def user_turns(question: str, system: str | None = None) -> list[dict]:
    """The conversation up to the answer: the user's question, after a system turn when the data has one."""
    turns = [{"role": "system", "content": system}] if system else []
    return turns + [{"role": "user", "content": question}]


def chat_prompt(tokenizer, question: str, system: str | None = None) -> str:
    """A user turn (after an optional system turn) rendered with the model's chat template, ready for the answer."""
    return tokenizer.apply_chat_template(user_turns(question, system), tokenize=False, add_generation_prompt=True)


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
    desc: str = "generate",
) -> list[str]:
    """Sample one completion per (already formatted) prompt; results come back in the input order."""
    if not prompts:
        return []
    model.eval()
    torch.manual_seed(seed)
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    outputs: list[str] = [""] * len(prompts)
    device = next(model.parameters()).device
    with tqdm(total=len(prompts), desc=desc, unit="seq", leave=False) as bar:
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
            bar.update(len(idx))
    return outputs
