"""Many API requests from synchronous code: one private event loop, a concurrency limit, retries with backoff.

The same request policy as the hosted judges (ampli.judges.remote.ApiJudge), without their scoring, so any
batch of chat requests (the teacher's seed answers and documents) gets it too. Each request ends in one of:
  a value;
  a failure of this item only: ItemError, or RetryableError still raised after max_retries retries;
  an exception that stops the batch: anything else, e.g. JudgeSetupError (a bad key or model fails every item).
"""

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ampli.judges.remote import ItemError, RetryableError

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A request's value, or why there is none."""

    value: T | None = None
    error: str | None = None


class ApiPool:
    """The event loop lives as long as the pool, so an async client's connections are reused across batches."""

    def __init__(self, concurrency: int, max_retries: int, backoff_s: float, max_backoff_s: float):
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency!r} is not valid; it must be an integer >= 1")
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.requests = 0
        self._loop = asyncio.new_event_loop()

    def map(
        self,
        ask: Callable[[str], Awaitable[T]],
        items: Sequence[str],
        done: Callable[[int, Outcome[T]], None] | None = None,
    ) -> list[Outcome[T]]:
        """ask(item) for every item, at most `concurrency` at once; done(i, outcome) as each finishes."""
        return self._loop.run_until_complete(self._map(ask, items, done))

    async def _map(self, ask, items, done) -> list[Outcome[T]]:
        limit = asyncio.Semaphore(self.concurrency)
        outcomes: list[Outcome[T]] = [Outcome(error="not_run")] * len(items)

        async def one(i: int, item: str) -> None:
            async with limit:
                outcomes[i] = await self._with_retries(ask, item)
            if done:
                done(i, outcomes[i])

        try:
            async with asyncio.TaskGroup() as group:
                for i, item in enumerate(items):
                    group.create_task(one(i, item))
        except ExceptionGroup as errors:
            raise errors.exceptions[0] from None
        return outcomes

    async def _with_retries(self, ask: Callable[[str], Awaitable[T]], item: str) -> Outcome[T]:
        attempt = 0
        while True:
            self.requests += 1
            try:
                return Outcome(value=await ask(item))
            except ItemError as error:
                return Outcome(error=f"api_error: {error}")
            except RetryableError as error:
                if attempt == self.max_retries:
                    return Outcome(error=f"api_error: {error.label} after {self.max_retries} retries")
                await asyncio.sleep(self._backoff(attempt, error.retry_after))
                attempt += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with jitter, so many waiting requests do not return in lockstep."""
        delay = retry_after if retry_after is not None else self.backoff_s * 2**attempt
        return min(delay, self.max_backoff_s) * random.uniform(1.0, 1.25)

    def close(self, aclose: Callable[[], Awaitable[None]] | None = None) -> None:
        """Close the loop, after awaiting `aclose` (the client's own close) on it."""
        if not self._loop.is_closed():
            if aclose:
                self._loop.run_until_complete(aclose())
            self._loop.close()
