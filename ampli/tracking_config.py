"""Experiment-tracking settings, selected with `logger=` (conf/logger/*.yaml)."""

from dataclasses import dataclass, field

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
    # Console detail (ampli/console.py): training-step metrics, ampli's DEBUG records and transformers' INFO
    # records, which otherwise go to the job's log file only. `python launch.py -v` sets it.
    verbose: bool = False
