"""API keys come from the environment only: config names the variable, the key is never stored or logged."""

import os

from ampli.judges.config import JudgeConfig


class JudgeSetupError(RuntimeError):
    """The judge cannot work at all (missing or rejected key, unknown model): fail the run now, not item by item."""


def read_api_key(cfg: JudgeConfig) -> str | None:
    """The key named by cfg.api_key_env; None only for a self-hosted OpenAI-compatible server that needs none."""
    if cfg.api_key_env is None:
        if cfg.backend == "openai" and cfg.base_url:
            return None
        raise JudgeSetupError(
            f"judge {cfg.name!r} (backend={cfg.backend}) has no api_key_env; set judge.api_key_env to the name "
            "of the environment variable that holds its API key"
        )
    key = os.environ.get(cfg.api_key_env)
    if not key:
        raise JudgeSetupError(
            f"judge {cfg.name!r} (backend={cfg.backend}) reads its API key from the environment variable "
            f"{cfg.api_key_env}, which is not set; export {cfg.api_key_env}=... before running"
        )
    return key
