"""The judge interface: every backend turns (prompt, response) pairs into trait and coherence scores."""

from dataclasses import dataclass, field
from typing import Protocol

from ampli.config.schema import TraitConfig


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


class JudgeFailed(Exception):
    """Requests that failed for a transient reason (connection, timeout, 429, 5xx) still fail after every retry and
    judge.max_attempts rounds: the stage stops unfinished, every score received is kept (cached), and the same
    command resumes it once the endpoint answers. The run ends with status judge_failed and exit code 3."""

    exit_code = 3


class Judge(Protocol):
    usage: JudgeUsage

    def probe(self, trait: TraitConfig) -> None:
        """Before a run's first stage: one request shaped as the run's, so that an endpoint that refuses it stops the
        run before any work (JudgeSetupError) and one that cannot be reached stops it as JudgeFailed."""
        ...

    def judge(self, trait: TraitConfig, items: list[JudgeItem]) -> list[Judgment]:
        """Score every item, in order; an item the judge cannot score gets a reason, not an exception. Raises
        JudgeFailed when transient failures outlast the retries (no partial result is returned)."""
        ...

    def close(self) -> None: ...
