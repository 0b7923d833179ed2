"""Hosted judges: concurrent async requests with a limit, retries with backoff, driven from synchronous code."""

import asyncio
import random
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.credentials import JudgeSetupError
from ampli.judges.pipeline import Record, ScoringJudge
from ampli.judges.scoring import Score


@dataclass(frozen=True)
class Reply:
    score: Score
    input_tokens: int
    output_tokens: int


class RetryableError(Exception):
    """Rate limits, server errors, timeouts: worth asking again after a pause."""

    def __init__(self, label: str, retry_after: float | None = None):
        super().__init__(label)
        self.label = label
        self.retry_after = retry_after


class ItemError(Exception):
    """The endpoint refused this one request (e.g. 400 for an over-long answer); other items may still work."""


def status_error(status: int, headers: Mapping[str, str], cfg: JudgeConfig) -> Exception:
    """Sort an HTTP error into retry / fail this item / stop the run (a bad key or model fails every item)."""
    if status in (401, 403):
        return JudgeSetupError(f"judge {cfg.name!r}: the endpoint rejected the key from ${cfg.api_key_env} ({status})")
    if status == 404:
        return JudgeSetupError(f"judge {cfg.name!r}: model {cfg.model!r} or endpoint {cfg.base_url!r} not found (404)")
    if status in (408, 409, 429) or status >= 500:
        try:
            retry_after = float(headers.get("retry-after", ""))
        except ValueError:
            retry_after = None
        return RetryableError(str(status), retry_after)
    return ItemError(str(status))


class ApiJudge(ScoringJudge):
    """One private event loop for the judge's whole life: `judge()` stays a plain sync call for the loop, and the
    HTTP client's connections (bound to that event loop) are reused from call to call."""

    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None):
        super().__init__(cfg, cache)
        self._loop = asyncio.new_event_loop()

    @abstractmethod
    async def _ask(self, user: str) -> Reply:
        """One request; raises RetryableError, ItemError or JudgeSetupError."""

    @abstractmethod
    async def _aclose(self) -> None: ...

    def _score(self, prompts: list[str], record: Record) -> None:
        self._loop.run_until_complete(self._score_all(prompts, record))

    async def _score_all(self, prompts: list[str], record: Record) -> None:
        limit = asyncio.Semaphore(self.cfg.concurrency)

        async def one(i: int, prompt: str) -> None:
            async with limit:
                record(i, await self._ask_with_retries(prompt))

        try:
            async with asyncio.TaskGroup() as group:
                for i, prompt in enumerate(prompts):
                    group.create_task(one(i, prompt))
        except ExceptionGroup as errors:
            raise errors.exceptions[0] from None

    async def _ask_with_retries(self, prompt: str) -> Score:
        retries = self.cfg.max_retries
        attempt = 0
        while True:
            self.usage.requests += 1
            try:
                reply = await self._ask(prompt)
            except ItemError as error:
                return Score(None, f"api_error: {error}", cacheable=False)
            except RetryableError as error:
                if attempt == retries:
                    return Score(None, f"api_error: {error.label} after {retries} retries", cacheable=False)
                await asyncio.sleep(self._backoff(attempt, error.retry_after))
                attempt += 1
                continue
            self._add_tokens(reply.input_tokens, reply.output_tokens)
            return reply.score

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with jitter, so many waiting requests do not return in lockstep."""
        delay = retry_after if retry_after is not None else self.cfg.backoff_s * 2**attempt
        return min(delay, self.cfg.max_backoff_s) * random.uniform(1.0, 1.25)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._aclose())
            self._loop.close()
        super().close()
