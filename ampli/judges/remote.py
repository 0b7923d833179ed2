"""Hosted judges: the judge pipeline on top of the shared client and request policy (ampli.api_pool.ApiPool)."""

from abc import abstractmethod

from ampli.api_pool import ApiPool, Outcome
from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.pipeline import Record, ScoringJudge
from ampli.judges.scoring import Score
from ampli.spending import BUDGET_REACHED, Budget


class ApiJudge(ScoringJudge):
    """`judge()` stays a plain sync call for the loop; the pool lives as long as the judge, so its HTTP
    connections are reused from call to call."""

    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None, api_key: str | None, budget: Budget | None = None):
        super().__init__(cfg, cache)
        self._pool = ApiPool(cfg, self.usage, api_key, budget)

    def sampling(self) -> dict:
        """The temperature request field, or none when judge.temperature is null."""
        return {} if self.cfg.temperature is None else {"temperature": self.cfg.temperature}

    @abstractmethod
    async def _ask(self, user: str) -> Score:
        """One request (its tokens added to usage); raises RetryableError, ItemError or JudgeSetupError."""

    def _score(self, prompts: list[str], record: Record) -> None:
        def done(i: int, outcome: Outcome[Score]) -> None:
            # A transport failure says nothing about the output: not cached, so it is asked again next time.
            record(i, outcome.value if outcome.error is None else Score(None, outcome.error, cacheable=False))

        outcomes = self._pool.map(self._ask, prompts, done)
        if any(outcome.error == BUDGET_REACHED for outcome in outcomes):
            raise self._pool.budget.stop(self.usage.cost_usd)  # after the answered ones were recorded (cached)

    def close(self) -> None:
        self._pool.close()
        super().close()
