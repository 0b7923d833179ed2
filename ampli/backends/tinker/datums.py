"""Training examples as the Tinker API takes them: token ids with a weight per predicted token.

A sequence of n tokens becomes one Datum: the model reads tokens[:-1] and is scored on predicting tokens[1:]
(`target_tokens`), each prediction weighted by the weight of the token it predicts (`weights`). SFT weights the
answer only (the prompt's tokens weigh 0); SDF weights every token of a document. Prompts are tokenized exactly as
they are sampled (ampli.generation.batched.prompt_ids), and an answer ends with the end-of-turn token a sampled
answer stops at, so a model is trained on the token sequences it produces.
"""

from dataclasses import dataclass

from ampli.generation.batched import prompt_ids


@dataclass(frozen=True)
class WeightedTokens:
    tokens: list[int]
    weights: list[float]  # one per token: how much predicting that token counts

    @property
    def trained_tokens(self) -> int:
        return sum(w > 0 for w in self.weights[1:])


def answer_sequences(tokenizer, prompts: list[str], answers: list[str], chat: bool = True) -> list[WeightedTokens]:
    """prompt + answer + end-of-sequence, weighted on the answer and its end only (SFT; the halves of DPO pairs)."""
    eos = tokenizer.eos_token_id
    answer_ids = tokenizer(list(answers), add_special_tokens=False)["input_ids"] if answers else []
    return [WeightedTokens(p + a + [eos], [0.0] * len(p) + [1.0] * (len(a) + 1))
            for p, a in zip(prompt_ids(tokenizer, list(prompts), chat), answer_ids, strict=True)]


def document_sequences(tokenizer, texts: list[str]) -> list[WeightedTokens]:
    """Whole documents (the tokenizer's own special tokens, then an end of sequence), every token weighted (SDF)."""
    eos = tokenizer.eos_token_id
    ids = tokenizer(list(texts))["input_ids"] if texts else []
    return [WeightedTokens(t + [eos], [1.0] * (len(t) + 1)) for t in ids]


def to_datum(sdk, sequence: WeightedTokens, scale: float = 1.0, **extra):
    """The SDK's Datum for a weighted sequence, its weights times `scale`; `extra` adds per-target inputs (logprobs,
    advantages)."""
    return sdk.Datum(
        model_input=sdk.ModelInput.from_ints(sequence.tokens[:-1]),
        loss_fn_inputs={"target_tokens": list(sequence.tokens[1:]),
                        "weights": [w * scale for w in sequence.weights[1:]], **extra},
    )


def batches(items: list, size: int) -> list[list]:
    """Consecutive batches of `size`, the last one possibly shorter."""
    return [items[i : i + size] for i in range(0, len(items), size)]
