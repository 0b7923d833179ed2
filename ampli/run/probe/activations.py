"""Teacher-forced activations: a prompt and a given answer run through a model once, the hidden states read out.

Prompt and answer are tokenized separately and their ids concatenated (as the perplexity pass does), so the answer's
tokens are known exactly whatever the chat template; rows are right-padded and batched by length. A measurement that
reads one layer stops the forward pass there: the layers above it (and the vocabulary projection) are not computed.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ampli.generation.batched import prompt_ids


def encode_pairs(tokenizer, prompts: list[str], responses: list[str], chat: bool) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, answer ids) per pair; `prompts` are rendered as for sampling (a chat, or raw text if not chat)."""
    if not prompts:
        return []
    answers = tokenizer(list(responses), add_special_tokens=False)["input_ids"]
    return list(zip(prompt_ids(tokenizer, list(prompts), chat), answers, strict=True))


class _LayerReached(Exception):
    """Raised by a forward hook once the layer a measurement reads has run, carrying its output."""

    def __init__(self, output: torch.Tensor):
        super().__init__()
        self.output = output


@contextmanager
def stopping_after(model, layer: int | None) -> Iterator[bool]:
    """Inside the block, a forward pass of `model` raises _LayerReached with hidden state `layer` (the output of
    decoder layer `layer`). Yields False, and changes nothing, where that cannot be done: no layer given, the last
    layer (whose hidden state most models return after the final norm), or a model without get_decoder().layers."""
    layers = getattr(model.get_decoder(), "layers", None) if layer and hasattr(model, "get_decoder") else None
    if layers is None or not 1 <= layer < len(layers):
        yield False
        return

    def stop(module, args, output):
        raise _LayerReached(output[0] if isinstance(output, tuple) else output)

    handle = layers[layer - 1].register_forward_hook(stop)
    try:
        yield True
    finally:
        handle.remove()


@torch.inference_mode()
def _hidden_states(model, pairs: list[tuple[list[int], list[int]]], batch_size: int, read,
                   layer: int | None) -> list[torch.Tensor]:
    """read(states, prompt_len, total_len) for every pair, in input order; states: (layers + 1, seq, width), or
    (1, seq, width) holding hidden state `layer` alone when one is given."""
    out: list[torch.Tensor | None] = [None] * len(pairs)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    device = next(model.parameters()).device
    with stopping_after(model, layer) as stops:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(pairs[i][0]) + len(pairs[i][1]) for i in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, i in enumerate(batch):
                tokens = pairs[i][0] + pairs[i][1]
                ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
                mask[row, : len(tokens)] = 1
            try:
                hidden = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                               output_hidden_states=not stops).hidden_states
            except _LayerReached as reached:
                hidden = (reached.output,)
            if layer is not None and not stops:
                hidden = (hidden[layer],)
            for row, i in enumerate(batch):  # read on the model's device; only what is read comes to the CPU
                states = torch.stack([h[row] for h in hidden]).float()
                out[i] = read(states, len(pairs[i][0]), len(pairs[i][0]) + len(pairs[i][1])).cpu()
    return out


def teacher_forced(model, pairs: list[tuple[list[int], list[int]]], batch_size: int = 32,
                   layer: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(answer means, last prompt states), each (pairs, layers + 1, width), from one forward pass per batch: each
    answer's hidden states averaged over its own tokens at every layer (index 0 is the embedding output; NaN for an
    answer without tokens), and the state at the prompt's last token, where the answer is decided (causal attention:
    the answer after it does not change it). With `layer`: hidden state `layer` alone, each (pairs, width)."""
    if not pairs or not all(prompt for prompt, _ in pairs):
        raise ValueError("teacher forcing needs at least one pair, and a token in every prompt")
    rows = _hidden_states(model, pairs, batch_size,
                          lambda h, first, end: torch.stack([h[:, first:end].mean(dim=1), h[:, first - 1]]), layer)
    stacked = torch.stack(rows)  # (pairs, 2, layers + 1 or 1, width)
    if layer is not None:
        stacked = stacked[:, :, 0]
    return stacked[:, 0], stacked[:, 1]


def response_means(model, pairs: list[tuple[list[int], list[int]]], batch_size: int = 32,
                   layer: int | None = None) -> torch.Tensor:
    """The answer means of teacher_forced, for answers that all have tokens (an empty one has nothing to average)."""
    empty = [i for i, (_, answer) in enumerate(pairs) if not answer]
    if empty:
        raise ValueError(f"answers {empty[:5]} have no tokens: a teacher-forced mean needs at least one")
    return teacher_forced(model, pairs, batch_size, layer)[0]

