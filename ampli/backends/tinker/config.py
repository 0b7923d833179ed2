"""Training-backend settings, selected with `backend=` (conf/backend/*.yaml)."""

from dataclasses import dataclass

BACKENDS = ("local", "tinker")


@dataclass
class BackendConfig:
    """Where each cycle's model is trained and sampled: `local` in this process (TRL, transformers), `tinker` on a
    hosted service that speaks the Tinker API (LoRA training clients, saved sampler weights, sampling clients)."""

    name: str = "local"
    # tinker: the Python module that provides the API (`tinker`, the SDK on PyPI; any module with the same
    # ServiceClient/types interface, e.g. another host's client).
    sdk: str = "tinker"
    # The service's name for the base model; None: model.hub_id (a tiny model: its local directory).
    base_model: str | None = None
    # The adapter is model.lora's (rank, cover, unembed) and Adam's epsilon regime.adam_eps, as for local training.
    # Transient failures (connection, timeout, 429, 5xx) are retried this often, waiting backoff_s, 2x, 4x, ...
    retries: int = 6
    backoff_s: float = 2.0
    # Spending limits of one run, over all its processes: optimizer steps and tokens (trained + sampled +
    # scored). None: no limit. When one is reached the run stops with status "budget", resumable.
    max_steps: int | None = None
    max_tokens: int | None = None
    # Lifetime of saved weights on the service in seconds (None: the service's default).
    ttl_seconds: int | None = None
