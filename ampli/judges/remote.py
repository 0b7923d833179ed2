"""Hosted judges: the judge pipeline on top of the shared client and request policy (ampli.hosted.api_pool.ApiPool).

Two rules keep a run from ending "completed" with scores it never got. A probe before any work sends one request
shaped as the run's (same rubric, max_tokens, logprobs): an endpoint that refuses it (a 4xx other than 429, e.g. a
reasoning model that rejects logprobs) stops the run at once with the provider's message. And an item whose
requests failed for a transient reason (connection, timeout, 429, 5xx) is never scored blank: the stage asks again
for such items, judge.max_attempts rounds of judge.max_retries retries each, then stops with JudgeFailed, so the
stage is not marked complete and a rerun asks only for what is still missing.
"""

import logging
from abc import abstractmethod
from collections import Counter

from ampli.config.schema import TraitConfig
from ampli.hosted.api_pool import ApiPool, ItemError, Outcome
from ampli.hosted.credentials import JudgeSetupError
from ampli.hosted.spending import BUDGET_REACHED, Budget
from ampli.judges.base import JudgeFailed
from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.pipeline import Record, ScoringJudge
from ampli.judges.rubrics import PROBE_ITEM, render
from ampli.judges.scoring import Score

log = logging.getLogger("ampli")


def provider_message(error: BaseException) -> str:
    """The endpoint's own words for a refused request, on one line (the SDK error the pool's error came from)."""
    cause = error.__cause__ or error
    body = getattr(cause, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") or str(body)
    else:
        message = getattr(cause, "message", None) or str(cause)
    return " ".join(str(message).split())


class ApiJudge(ScoringJudge):
    """`judge()` stays a plain sync call for the loop; the pool lives as long as the judge, so its HTTP
    connections are reused from call to call."""

    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None, api_key: str | None, budget: Budget | None = None):
        super().__init__(cfg, cache)
        self._pool = ApiPool(cfg, self.usage, api_key, budget)

    def sampling(self) -> dict:
        """The temperature request field, or none when judge.temperature is null."""
        return {} if self.cfg.temperature is None else {"temperature": self.cfg.temperature}

    def request_shape(self) -> str:
        """The settings that shape a request, as the probe's refusal names them."""
        return f"judge.max_tokens={self.cfg.max_tokens}"

    @abstractmethod
    async def _ask(self, user: str) -> Score:
        """One request (its tokens added to usage); raises RetryableError, ItemError or JudgeSetupError."""

    def probe(self, trait: TraitConfig) -> None:
        """One request as the run sends them, retried like any other; its cost counts toward the budget and its
        score is cached, so that the runs of a sweep (and a resumed run) pay for it once."""
        key = self._key(trait.rubric, PROBE_ITEM)
        if self._cache and self._cache.lookup([key])[0] is not None:
            self.usage.cache_hits += 1  # this judge has answered this very request before
            return

        async def refused_stops_the_run(user: str) -> Score:
            try:
                return await self._ask(user)
            except ItemError as error:
                raise JudgeSetupError(
                    f"judge {self.cfg.name!r} (model {self.cfg.model!r} at {self.cfg.base_url or 'the default URL'}) "
                    f"refused a request shaped as the run's ({self.request_shape()}): HTTP {error}: "
                    f"{provider_message(error)}"
                ) from error

        [outcome] = self._pool.map(refused_stops_the_run, [render(trait.rubric, PROBE_ITEM)])
        if outcome.error == BUDGET_REACHED:
            raise self._pool.budget.stop(self.usage.cost_usd)
        if outcome.error is None and self._cache:
            self._cache.put(key, outcome.value)
            self._cache.sync()
        if outcome.transient:
            raise JudgeFailed(f"judge {self.cfg.name!r} at {self.cfg.base_url or 'the default URL'} cannot be reached "
                              f"({outcome.error}); nothing was started; rerun the same command once it answers")

    def _score(self, prompts: list[str], record: Record) -> None:
        pending = list(range(len(prompts)))
        for attempt in range(1, self.cfg.max_attempts + 1):
            failed: dict[int, str] = {}

            def done(j: int, outcome: Outcome[Score], asked: list[int] = pending) -> None:
                if outcome.transient:  # not recorded: neither cached nor a blank score; asked again below
                    failed[asked[j]] = outcome.error
                else:  # an error here is this item's own (e.g. 400): blank, not cached, the stage goes on
                    record(asked[j], outcome.value if outcome.error is None
                           else Score(None, outcome.error, cacheable=False))

            outcomes = self._pool.map(self._ask, [prompts[i] for i in pending], done)
            if any(outcome.error == BUDGET_REACHED for outcome in outcomes):
                raise self._pool.budget.stop(self.usage.cost_usd)  # after the answered ones were recorded (cached)
            if not failed:
                return
            pending = sorted(failed)
            reasons = ", ".join(f"{n} x {reason}" for reason, n in Counter(failed.values()).most_common())
            if attempt < self.cfg.max_attempts:
                log.warning("judge: %d of %d requests failed (%s); asking again (round %d of judge.max_attempts=%d)",
                            len(pending), len(prompts), reasons, attempt + 1, self.cfg.max_attempts)
        raise JudgeFailed(
            f"judge {self.cfg.name!r}: {len(pending)} of {len(prompts)} requests still fail after "
            f"judge.max_attempts={self.cfg.max_attempts} rounds of judge.max_retries={self.cfg.max_retries} retries "
            f"({reasons}); every score received is kept, and the same command asks only for the rest"
        )

    def close(self) -> None:
        self._pool.close()
        super().close()
