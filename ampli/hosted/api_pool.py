"""Many API requests from synchronous code: one private event loop, a concurrency limit, retries with backoff.

The one client and request policy of every hosted backend, judges and teacher alike, so that they differ only
in how they build a request and read its reply. Each request ends in one of:
  a value;
  a failure of this item only: ItemError, or RetryableError still raised after max_retries retries;
  not sent, because the run's budget is spent (error BUDGET_REACHED; the caller decides how to stop);
  an exception that stops the batch: anything else, e.g. JudgeSetupError (a bad key or model fails every item).
"""

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timezone
from typing import Generic, Protocol, TypeVar

from ampli.hosted.credentials import JudgeSetupError
from ampli.hosted.spending import BUDGET_REACHED, Budget
from ampli.judges.config import JudgeConfig

T = TypeVar("T")


class RequestCount(Protocol):
    """The usage record of a judge or a teacher: the pool adds every request it makes to it."""

    requests: int


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
        return RetryableError(str(status), retry_after_seconds(headers))
    return ItemError(str(status))


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """How long the endpoint asks us to wait, in any of the forms providers send: retry-after-ms (OpenAI,
    milliseconds), Retry-After in seconds, or Retry-After as an HTTP date (RFC 9110, GMT); None when it says
    nothing readable. A date already past means no wait."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(headers.get("retry-after", ""))
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A request's value, or why there is none; `transient`: the retries ran out on a RetryableError (the endpoint
    may well answer later, so the caller may ask again)."""

    value: T | None = None
    error: str | None = None
    transient: bool = False


class ApiPool:
    """The event loop lives as long as the pool, so the client's connections (bound to it) are reused across
    batches. Every attempt, retries included, is counted in usage.requests."""

    def __init__(self, cfg: JudgeConfig, usage: RequestCount, api_key: str | None, budget: Budget | None = None):
        if cfg.concurrency < 1:
            raise ValueError(f"concurrency={cfg.concurrency!r} is not valid; it must be an integer >= 1")
        self.cfg = cfg
        self.usage = usage
        self.budget = budget
        self._loop = asyncio.new_event_loop()
        # The SDK's own retries are off: retries are ours (counted, reported as reasons).
        if cfg.backend == "openai":
            import openai as sdk

            # A key-less vLLM server still needs a placeholder key.
            self.client = sdk.AsyncOpenAI(
                api_key=api_key or "no-key", base_url=cfg.base_url, timeout=cfg.timeout_s, max_retries=0
            )
        else:
            import anthropic as sdk

            self.client = sdk.AsyncAnthropic(
                api_key=api_key, base_url=cfg.base_url, timeout=cfg.timeout_s, max_retries=0
            )
        self._sdk = sdk

    @contextmanager
    def sorted_errors(self) -> Iterator[None]:
        """Around a client call: re-raise an SDK error (openai and anthropic name them alike) as one of ours."""
        try:
            yield
        except self._sdk.APITimeoutError as error:
            raise RetryableError("timeout") from error
        except self._sdk.APIConnectionError as error:
            raise RetryableError("connection_error") from error
        except self._sdk.APIStatusError as error:
            raise status_error(error.status_code, error.response.headers, self.cfg) from error

    def map(
        self,
        ask: Callable[[str], Awaitable[T]],
        items: Sequence[str],
        done: Callable[[int, Outcome[T]], None] | None = None,
    ) -> list[Outcome[T]]:
        """ask(item) for every item, at most `concurrency` at once; done(i, outcome) as each finishes."""
        return self._loop.run_until_complete(self._map(ask, items, done))

    async def _map(self, ask, items, done) -> list[Outcome[T]]:
        limit = asyncio.Semaphore(self.cfg.concurrency)
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
        retries = self.cfg.max_retries
        attempt = 0
        while True:
            if self.budget is not None and self.budget.reached(self.usage.cost_usd):
                return Outcome(error=BUDGET_REACHED)
            self.usage.requests += 1
            try:
                return Outcome(value=await ask(item))
            except ItemError as error:
                return Outcome(error=f"api_error: {error}")
            except RetryableError as error:
                if attempt == retries:
                    return Outcome(error=f"api_error: {error.label} after {retries} retries", transient=True)
                await asyncio.sleep(self._backoff(attempt, error.retry_after))
                attempt += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with jitter, so many waiting requests do not return in lockstep."""
        delay = retry_after if retry_after is not None else self.cfg.backoff_s * 2**attempt
        return min(delay, self.cfg.max_backoff_s) * random.uniform(1.0, 1.25)

    def close(self) -> None:
        """Close the client on its own loop, then the loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.client.close())
            self._loop.close()
