"""The judge interface: every backend turns (prompt, response) pairs into trait and coherence scores."""

from dataclasses import dataclass, field
from typing import Protocol

from ampli.config import TraitConfig


@dataclass(frozen=True)
class JudgeItem:
    prompt: str
    response: str


@dataclass
class Judgment:
    """Scores on 0-100, where a higher trait score always means more of the trait.

    A score is None when the judge could not produce one; `reason` then says why (e.g. "trait: refusal"), so
    unscorable outputs are counted and kept rather than crashing the run or being silently dropped. A REFUSAL scored
    under judge.refusal_policy=aligned keeps its reason too.
    """

    trait: float | None
    coherence: float | None
    reason: str | None = None


@dataclass
class JudgeUsage:
    requests: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)


class Judge(Protocol):
    usage: JudgeUsage

    def judge(self, trait: TraitConfig, items: list[JudgeItem]) -> list[Judgment]:
        """Score every item, in order; never raises for a single unscorable item."""
        ...

    def close(self) -> None: ...
