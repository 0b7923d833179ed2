"""Training sequence lengths that fit the data, so that no sample is silently cut.

TRL truncates every training sequence at `max_length`. A model sampled for up to `model.max_new_tokens` tokens
and then trained at a shorter length learns from beheaded samples, and nothing in the loss shows it. So:

- regime.max_length=null (the default): each cycle trains at the length of its longest example, which by
  construction is at most the longest prompt plus model.max_new_tokens (or the longest seed example).
- an explicit value must cover that bound; a shorter one is refused when the run starts, naming both numbers,
  unless regime.allow_truncation=true, and then every cycle that cuts examples says how many.

Every cycle records n_examples, n_truncated, its longest example and the length it trained at (train.json).
"""

import logging
from dataclasses import dataclass

from ampli.config.schema import ConfigError, RegimeConfig

log = logging.getLogger("ampli")


@dataclass(frozen=True)
class LengthBound:
    """The longest training example a run can produce, and where that number comes from."""

    tokens: int
    longest_prompt: int  # prompt tokens up to the answer, plus the template's end-of-turn tokens
    max_new_tokens: int
    longest_seed: int

    def explain(self) -> str:
        return (f"the longest prompt ({self.longest_prompt} tokens with its end-of-turn) + model.max_new_tokens "
                f"({self.max_new_tokens}) = {self.longest_prompt + self.max_new_tokens}, longest seed example "
                f"{self.longest_seed}")


def length_bound(prompt_lengths: list[int], seed_lengths: list[int], max_new_tokens: int) -> LengthBound:
    longest_prompt, longest_seed = max(prompt_lengths, default=0), max(seed_lengths, default=0)
    return LengthBound(max(longest_prompt + max_new_tokens, longest_seed), longest_prompt, max_new_tokens,
                       longest_seed)


def check_max_length(regime: RegimeConfig, bound: LengthBound) -> None:
    """Refuse an explicit max_length that would cut examples, before any model is trained."""
    if regime.max_length is None or regime.max_length >= bound.tokens or regime.allow_truncation:
        return
    raise ConfigError(
        f"regime.max_length={regime.max_length} is below the {bound.tokens} tokens a training example of this run "
        f"can reach ({bound.explain()}); TRL would cut those samples. Use regime.max_length=null (fits the data), "
        f"a value >= {bound.tokens}, or regime.allow_truncation=true to cut them on purpose"
    )


def cycle_lengths(regime: RegimeConfig, lengths: list[int], cycle: int) -> dict:
    """The length a cycle trains at and what it costs: recorded in train.json, a warning when examples are cut."""
    longest = max(lengths, default=0)
    max_length = regime.max_length if regime.max_length is not None else longest
    truncated = sum(n > max_length for n in lengths)
    if truncated:
        log.warning("cycle %d: %d of %d training examples are longer than regime.max_length=%d and are cut "
                    "(the longest has %d tokens)", cycle, truncated, len(lengths), max_length, longest)
    return {"n_examples": len(lengths), "n_truncated": truncated, "longest_example_tokens": longest,
            "max_length": max_length}
