"""Settings of what a run records: experiment tracking (`logger=`, conf/logger/*.yaml), the run directory's lock
(`run_lock.*`) and where built models are cached. A leaf: the config schema composes these, so this module imports
nothing from ampli."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LOGGER_BACKENDS = ("wandb", "none")
# auto: online when a W&B API key is available (WANDB_API_KEY or ~/.netrc), otherwise offline.
LOGGER_MODES = ("auto", "online", "offline", "disabled")


@dataclass
class LoggerConfig:
    name: str = "wandb"
    backend: str = "wandb"
    project: str = "ampli"
    entity: str | None = None
    # W&B group; None groups runs by the sweep name.
    group: str | None = None
    mode: str = "auto"
    tags: list[str] = field(default_factory=list)
    # Sample generations per cycle logged as a W&B table.
    samples_per_cycle: int = 16
    # Console detail (ampli/record/console.py): training-step metrics, ampli's DEBUG records and transformers' INFO
    # records, which otherwise go to the job's log file only. `python launch.py -v` sets it.
    verbose: bool = False


@dataclass
class RunLockConfig:
    # How often the holder touches the lock, and how old a heartbeat from another host must be to count as dead.
    heartbeat_s: float = 30.0
    stale_after_s: float = 600.0


def default_cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """$AMPLI_CACHE, else $XDG_CACHE_HOME/ampli (an absolute one, as the XDG spec says), else ~/.cache/ampli."""
    if env.get("AMPLI_CACHE"):
        return Path(env["AMPLI_CACHE"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "ampli"
    return Path.home() / ".cache" / "ampli"
