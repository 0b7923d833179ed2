"""One run's connection to the Tinker service: the SDK, the API key, retries, the budget and the weights ledger.

Everything ampli asks of the service goes through `Service.call`, so every request is retried the same way on
transient failures and counted against the run's budget. What is transient is the SDK's word, read from its source
(tinker 0.38): SDK calls return futures, and their `.result()` raises
  RetryableException   the service lost the request: send it again (retried);
  RequestFailedError   the request ran and failed; its category says whose fault: "user" (a bad request) stops the
                       run, "server" and "unknown" are retried;
  APIStatusError       after the SDK's own 5 minutes of retries: 408/409/429/5xx are retried, other codes stop;
  ValueError           the SDK's verdict that retrying is pointless (401, 403, 404, repeated 400): stops;
  APIConnectionError   the SDK retries connection failures itself (sampling for up to 2 hours of no progress), so
                       one that reaches ampli stops the run, resumable, instead of multiplying that wait.
The ledger (tinker.json in the run directory) records where the service keeps each cycle's weights and what the
run has used so far, so a resumed process knows both.
"""

import importlib
import logging
import os
import time
from pathlib import Path

from ampli.backends.tinker.config import BackendConfig
from ampli.config.schema import ConfigError
from ampli.hosted.spending import BudgetReached
from ampli.record.store import read_json, write_json

log = logging.getLogger("ampli")

API_KEY_VARIABLE = "TINKER_API_KEY"
LEDGER = "tinker.json"
# The SDK's is_retryable_status_code (tinker/lib/retry_handler.py).
RETRYABLE_STATUS = (408, 409, 429)
# The least lifetime the service accepts for saved weights (save_state's docstring: 1 hour to 10 years).
MIN_TTL_SECONDS = 3600


def transient(error: BaseException) -> bool:
    """Whether the SDK says the same request may succeed when sent again (module docstring). Classes are matched by
    name along the error's class hierarchy, so that the SDK and a stand-in module with the same names agree."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if "RetryableException" in names:
        return True
    if "RequestFailedError" in names:
        return str(getattr(error, "category", "unknown")).lower() != "user"
    if "APIStatusError" in names and "APIConnectionError" not in names:
        status = getattr(error, "status_code", 0)
        return status in RETRYABLE_STATUS or 500 <= status < 600
    return False


def load_sdk(cfg: BackendConfig):
    """The module that speaks the Tinker API, or a one-line error saying how to install it."""
    try:
        return importlib.import_module(cfg.sdk)
    except ImportError as e:
        raise ConfigError(f"backend.sdk={cfg.sdk!r} cannot be imported ({e}); install the Tinker SDK with "
                          f"`pip install -e .[tinker]` (or `pip install tinker`)") from None


def api_key() -> str:
    """The API key, from the environment only: configs, logs and W&B never see it."""
    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not key:
        raise ConfigError(f"backend=tinker needs the service's API key in the environment variable "
                          f"{API_KEY_VARIABLE}; export it (it is never read from a config)")
    return key


def check(cfg: BackendConfig) -> None:
    """What must hold before a Tinker run makes its directory: the SDK imports, the key is set, sane limits."""
    load_sdk(cfg)
    api_key()
    for key in ("max_steps", "max_tokens"):
        value = getattr(cfg, key)
        if value is not None and value < 1:
            raise ConfigError(f"backend.{key}={value!r} is not valid; it must be an integer >= 1, or null (no limit)")
    if cfg.ttl_seconds is not None and cfg.ttl_seconds < MIN_TTL_SECONDS:
        raise ConfigError(f"backend.ttl_seconds={cfg.ttl_seconds!r} is not valid; the service keeps weights for "
                          f"{MIN_TTL_SECONDS} s (1 hour) or longer, or null (its default)")


class Service:
    def __init__(self, cfg: BackendConfig, run_dir: Path, sleep=time.sleep):
        self.cfg = cfg
        self.sdk = load_sdk(cfg)
        self.run_dir = run_dir
        self.ledger_path = run_dir / LEDGER
        self.ledger = read_json(self.ledger_path) if self.ledger_path.exists() else {"weights": {}, "usage": {}}
        self.ledger["usage"] = {"steps": 0, "tokens": 0, **self.ledger["usage"]}
        self.sleep = sleep
        self._client = None

    @property
    def client(self):
        """The SDK's ServiceClient, opened on first use."""
        if self._client is None:
            self._client = self.sdk.ServiceClient(api_key=api_key())
        return self._client

    def call(self, what: str, request, *args, **kwargs):
        """request(*args, **kwargs), resolved (SDK calls return futures), retried with exponential backoff while the
        SDK calls the failure transient; the last failure, or the first that is not, is raised."""
        for attempt in range(self.cfg.retries + 1):
            try:
                return self._resolve(request(*args, **kwargs))
            except Exception as e:
                if not transient(e) or attempt == self.cfg.retries:
                    raise
                self._wait(what, e, attempt)

    def call_all(self, what: str, requests: list) -> list:
        """Every request submitted before any is awaited (the service runs them side by side), then each resolved;
        one that fails transiently is sent again on its own, with call's retries."""
        pending = []
        for request in requests:
            try:
                pending.append(request())
            except Exception as e:
                if not transient(e):
                    raise
                pending.append(None)
        results = []
        for request, future in zip(requests, pending):
            try:
                results.append(self._resolve(future) if future is not None else self.call(what, request))
            except Exception as e:
                if not transient(e):
                    raise
                log.warning("tinker %s failed (%s: %s); sending it again on its own", what, type(e).__name__, e)
                results.append(self.call(what, request))
        return results

    @staticmethod
    def _resolve(result):
        return result.result() if hasattr(result, "result") else result

    def _wait(self, what: str, error: Exception, attempt: int) -> None:
        wait = self.cfg.backoff_s * 2**attempt
        log.warning("tinker %s failed (%s: %s); retry %d/%d in %.0f s", what, type(error).__name__, error,
                    attempt + 1, self.cfg.retries, wait)
        self.sleep(wait)

    # ---- budget ------------------------------------------------------------------------------------------

    def spend(self, steps: int = 0, tokens: int = 0) -> None:
        usage = self.ledger["usage"]
        usage["steps"] += steps
        usage["tokens"] += tokens
        self.save()

    def check_budget(self) -> None:
        """Stop (status "budget", resumable) before a request once a limit is reached."""
        usage = self.ledger["usage"]
        for key, used in (("max_steps", usage["steps"]), ("max_tokens", usage["tokens"])):
            limit = getattr(self.cfg, key)
            if limit is not None and used >= limit:
                raise BudgetReached(f"backend.{key}={limit} reached ({used} used); rerun with a higher "
                                    f"backend.{key} to continue")

    # ---- weights ledger ----------------------------------------------------------------------------------

    def record_weights(self, cycle: int, sampler: str, state: str) -> None:
        self.ledger["weights"][str(cycle)] = {"sampler": sampler, "state": state}
        self.save()

    def weights(self, cycle: int) -> dict | None:
        """Where cycle `cycle`'s weights are: the ledger's entry, else what its train.json says (a cycle adopted from
        a twin run, ampli.record.shared_stages, comes with the twin's train.json and not with its ledger)."""
        if str(cycle) in self.ledger["weights"]:
            return self.ledger["weights"][str(cycle)]
        train = self.run_dir / f"cycle_{cycle:03d}" / "train.json"
        recorded = read_json(train) if train.exists() else {}
        if "tinker_sampler_path" not in recorded:
            return None
        return {"sampler": recorded["tinker_sampler_path"], "state": recorded["tinker_state_path"]}

    def forget_weights(self, cycle: int) -> None:
        self.ledger["weights"].pop(str(cycle), None)
        self.save()

    def exists(self, path: str) -> bool:
        """Whether the service still holds weights saved at `path` (it deletes them after their lifetime)."""
        rest = self.client.create_rest_client()
        try:
            self.call("weights info", rest.get_weights_info_by_tinker_path, path)
        except getattr(self.sdk, "NotFoundError", LookupError):
            return False
        return True

    def save(self) -> None:
        write_json(self.ledger_path, self.ledger)
