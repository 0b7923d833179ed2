"""What hosted judges and teachers cost, and the per-run spending limit that stops a run before it costs more.

Cost is estimated from the tokens each reply reports (JudgeUsage, TeacherUsage) times the model's price per million
tokens. Prices: values set in the config win; otherwise the list price below; local backends cost nothing. A hosted
model with no known price gets a warning at start (its cost would otherwise read as a silent 0 USD), and a budget
on such a model is refused, since it could never be reached.
"""

import logging
import re
from dataclasses import replace
from typing import TypeVar

from ampli.config.schema import ConfigError

log = logging.getLogger("ampli")

# USD per million input and output tokens: list prices (2025) of the models ampli's presets name and their siblings.
LIST_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4-1": (15.00, 75.00),
}
LOCAL_BACKENDS = ("offline", "hf")
SNAPSHOT_DATE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")  # gpt-4.1-mini-2025-04-14, claude-haiku-4-5-20251001
BUDGET_REACHED = "budget_reached"  # the reason of a request that was not sent because the budget was spent

Priced = TypeVar("Priced")  # a JudgeConfig or TeacherConfig: backend, model, *_cost_per_mtok, max_cost_usd


def list_price(model: str) -> tuple[float, float] | None:
    return LIST_PRICES.get(SNAPSHOT_DATE.sub("", model))


def known_prices(cfg: Priced) -> tuple[float, float] | None:
    """USD per million input and output tokens: the configured ones, else the list price (local: 0); None: unknown."""
    given = (cfg.input_cost_per_mtok, cfg.output_cost_per_mtok)
    if None not in given:
        return given
    known = (0.0, 0.0) if cfg.backend in LOCAL_BACKENDS else list_price(cfg.model)
    return None if known is None else tuple(g if g is not None else k for g, k in zip(given, known))


def with_prices(cfg: Priced, key: str) -> Priced:
    """cfg with input_cost_per_mtok and output_cost_per_mtok filled in; `key` names the config group in messages."""
    given = (cfg.input_cost_per_mtok, cfg.output_cost_per_mtok)
    if None not in given:
        return cfg
    known = known_prices(cfg)
    if known is None:
        how = (f"set {key}.input_cost_per_mtok and {key}.output_cost_per_mtok (USD per million tokens; 0 for a "
               f"server you run yourself)")
        if cfg.max_cost_usd is not None:
            raise ConfigError(f"{key}.max_cost_usd={cfg.max_cost_usd!r} cannot be enforced: no price is known for "
                              f"{key}.model={cfg.model!r}; {how}")
        log.warning("%s model %r has no known price, so its cost is counted as 0 USD; to count it, %s",
                    key, cfg.model, how)
        known = tuple(g if g is not None else 0.0 for g in given)
    return replace(cfg, input_cost_per_mtok=known[0], output_cost_per_mtok=known[1])


def token_cost(cfg, input_tokens: int, output_tokens: int) -> float:
    """USD for one reply under cfg's (filled-in) prices."""
    return (input_tokens * cfg.input_cost_per_mtok + output_tokens * cfg.output_cost_per_mtok) / 1e6


class BudgetReached(Exception):
    """The spending limit is reached: the stage in progress stops unfinished, everything paid for is kept, and a
    rerun with a higher limit resumes it."""


class Budget:
    """The most one run may spend on one kind of model. `spent_before` is what the run's earlier processes recorded;
    the request pool adds its own usage and sends a request only while the sum is under the limit, so a run
    overshoots by at most the requests already in flight (`concurrency` of them)."""

    def __init__(self, key: str, limit_usd: float | None):
        if limit_usd is not None and not limit_usd > 0:
            raise ConfigError(f"{key}={limit_usd!r} is not valid; it must be a number of USD > 0, or null for no limit")
        self.key = key
        self.limit_usd = limit_usd
        self.spent_before = 0.0

    def reached(self, spent_now: float) -> bool:
        return self.limit_usd is not None and self.spent_before + spent_now >= self.limit_usd

    def stop(self, spent_now: float) -> BudgetReached:
        return BudgetReached(
            f"{self.key}={self.limit_usd:g} USD reached ({self.spent_before + spent_now:.4f} USD spent); rerun with "
            f"a higher {self.key} to continue"
        )
