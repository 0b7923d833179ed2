"""Retry-After in every form a provider sends it: the pool waits what the endpoint asked for."""

from datetime import datetime, timezone

import pytest

from ampli.hosted.api_pool import RetryableError, retry_after_seconds, status_error
from ampli.judges.config import JudgeConfig

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("headers, wait", [
    ({"retry-after": "3"}, 3.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the finer one wins, as in the openai SDK
    ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
    ({"retry-after": "Mon, 07 Dec 2026 12:00:20 GMT"}, 20.0),
    ({"retry-after": "Mon, 07 Dec 2026 12:00:20"}, 20.0),  # no zone: GMT, as HTTP dates are
    ({"retry-after": "Mon, 07 Dec 2026 11:59:00 GMT"}, 0.0),  # already past
    ({"retry-after": "-4"}, 0.0),
    ({"retry-after": "nan"}, None),
    ({"retry-after": "whenever"}, None),
    ({}, None),
])
def test_each_form_of_retry_after_is_read(headers, wait):
    assert retry_after_seconds(headers, now=NOW) == wait


def test_a_rate_limit_carries_the_wait_into_the_retry():
    error = status_error(429, {"retry-after-ms": "1500"}, JudgeConfig(name="j", backend="openai"))
    assert isinstance(error, RetryableError) and error.retry_after == 1.5
