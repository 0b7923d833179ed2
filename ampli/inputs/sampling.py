"""Which pool items (prompts, or held-out documents for sdf) a generating cycle draws, per loop.prompt_sampling.

    disjoint          a seeded shuffle cut into chunks: no item is used twice in a run (the paper's text)
    per_cycle         a seeded sample per cycle without replacement: no repeats within a cycle, repeats across
                      cycles (the authors' newer code)
    with_replacement  seeded draws with replacement: any number from any pool, e.g. 10,000 a cycle from 1,000
                      prompts (the authors' committed runs)

Cycle 0 is the seed cycle and draws nothing. A pool too small for the mode is refused with the numbers and the
ways out, so the up-front data check (regimes.base.check_data) stops a run before any model is loaded.
"""

import math
import random

from ampli.config.schema import PROMPT_SAMPLING, AmpliConfig, ConfigError


class PoolTooSmallError(ConfigError):
    """The pool cannot supply what the sampling mode needs; the message names the options to change."""


def cycle_size(cfg: AmpliConfig) -> tuple[int, str]:
    """Examples a generating cycle trains on, and the option that sets it."""
    if cfg.regime.samples_per_cycle:
        return cfg.regime.samples_per_cycle, "regime.samples_per_cycle"
    return cfg.loop.prompts_per_cycle, "loop.prompts_per_cycle"


def draw_size(cfg: AmpliConfig) -> tuple[int, str]:
    """Items a generating cycle draws, and what sets the number: its size, times the coherence filter's oversample
    when the filter is on (samples below the threshold are dropped afterwards)."""
    size, option = cycle_size(cfg)
    flt = cfg.loop.coherence_filter
    if flt.min is None or flt.oversample == 1:
        return size, f"{option}={size}"
    return math.ceil(size * flt.oversample), f"{option}={size} x loop.coherence_filter.oversample={flt.oversample}"


def draw(items: list, cycle: int, count: int, *, cycles: int, seed: int, mode: str, what: str, asked: str) -> list:
    """Cycle n's `count` items of the pool under `mode`; `asked` says which options set `count` (for errors)."""
    if mode == "disjoint":
        needed = count * (cycles - 1)
        if needed > len(items):
            raise PoolTooSmallError(
                f"{asked} x {cycles - 1} generating cycles needs {needed} {what}, but the pool holds {len(items)} "
                f"and loop.prompt_sampling=disjoint uses each at most once; lower {asked.split('=')[0]} or "
                "loop.cycles, give a larger pool, or use loop.prompt_sampling=per_cycle or with_replacement"
            )
        order = list(items)
        random.Random(seed).shuffle(order)
        start = (cycle - 1) * count
        return order[start : start + count]
    rng = random.Random(f"{seed}/{cycle}")
    if mode == "per_cycle":
        if count > len(items):
            raise PoolTooSmallError(
                f"loop.prompt_sampling=per_cycle draws {count} {what} a cycle without replacement ({asked}), but the "
                f"pool holds {len(items)}; lower {asked.split('=')[0]}, give a larger pool, or use "
                "loop.prompt_sampling=with_replacement"
            )
        return rng.sample(items, count)
    if mode == "with_replacement":
        if not items:
            raise PoolTooSmallError(f"loop.prompt_sampling=with_replacement needs at least one of the {what}")
        return rng.choices(items, k=count)
    raise ConfigError(f"loop.prompt_sampling={mode!r} is not valid; choose one of: {', '.join(PROMPT_SAMPLING)}")
