"""Experiment tracking: one W&B run per ampli run, stepped by cycle.

The loop always holds a `Tracker`; with `logger=none` (or logger.mode=disabled) it is a no-op, so the loop never
branches on whether tracking is on. W&B runs offline unless an API key is available, so a laptop or a cluster node
without network never blocks on login; `wandb sync <run_dir>/wandb/offline-run-*` uploads later.
"""

from __future__ import annotations

import hashlib
import logging
import netrc
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

from omegaconf import DictConfig, OmegaConf

from ampli.key_table import read_settings
from ampli.tracking_config import LOGGER_BACKENDS, LOGGER_MODES

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = ("prompt", "response", "trait", "coherence")
# The per-cycle metrics a researcher looks at first, plotted against the cycle, with the run summaries that rank runs
# in W&B's runs table: how far the trait got (max), what coherence it cost (min), where each ended (last).
CYCLE_METRICS = {
    "trait": "last,max",
    "coherence": "last,min",
    "em_rate": "last,max",
    "gen_trait": "last",
    "gen_coherence": "last",
    "train_loss": "last",
}
DEFAULT_WANDB_HOST = "https://api.wandb.ai"
# WANDB_MODE values W&B accepts, mapped to the mode they mean.
_ENV_MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline", "disabled": "disabled"}
# A key is secret when a secret word is a whole "_"/"-"-separated part of it: hf_token, api_key, client_secret,
# but not max_tokens. Keys ending in _env (api_key_env) only name an environment variable and are kept.
_SECRET_KEY = re.compile(r"(?:^|[_-])(?:api[_-]?key|token|secret|password|passwd|credentials?)(?:[_-]|$)", re.I)


def flatten(values: Mapping[str, Any], sep: str = "/", prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> one level ({"seconds": {"train": 3}} -> {"seconds/train": 3}), so each number is a metric."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, sep, name))
        else:
            flat[name] = value
    return flat


def is_secret_key(key: str) -> bool:
    """Whether a config key may hold a credential that must not leave the machine."""
    return bool(_SECRET_KEY.search(key)) and not key.lower().endswith(("_env", "-env"))


def scrub_secrets(value: Any) -> Any:
    """A copy of a config container without secret-looking keys, at any depth."""
    if isinstance(value, Mapping):
        return {k: scrub_secrets(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list):
        return [scrub_secrets(v) for v in value]
    return value


def has_wandb_api_key(env: Mapping[str, str] = os.environ) -> bool:
    """True when W&B could log in without prompting: WANDB_API_KEY, or a netrc entry for the W&B host."""
    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL") or DEFAULT_WANDB_HOST).hostname
    path = env.get("NETRC") or str(Path.home() / ".netrc")
    try:
        return netrc.netrc(path).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_mode(mode: str, env: Mapping[str, str] = os.environ) -> str:
    """logger.mode -> the W&B mode to use; "auto" honours WANDB_MODE, then goes online only with an API key."""
    if mode not in LOGGER_MODES:
        raise ValueError(f"logger.mode={mode!r} is not valid; choose one of: {', '.join(LOGGER_MODES)}")
    if mode != "auto":
        return mode
    env_mode = env.get("WANDB_MODE", "").strip().lower()
    if env_mode:
        if env_mode not in _ENV_MODES:
            raise ValueError(f"WANDB_MODE={env_mode!r} is not valid; choose one of: {', '.join(_ENV_MODES)}")
        return _ENV_MODES[env_mode]
    return "online" if has_wandb_api_key(env) else "offline"


def wandb_run_id(run_name: str, sweep: str) -> str:
    """Same run and sweep -> same id, so a resumed or requeued job continues its W&B run instead of forking it."""
    return hashlib.sha1(f"{sweep}/{run_name}".encode()).hexdigest()[:16]


def run_tags(cfg: DictConfig) -> list[str]:
    """Tags to filter the W&B runs table by condition, then the user's logger.tags."""
    tags = [
        f"trait:{cfg.trait.name}",
        f"regime:{cfg.regime.name}",
        f"reinit:{str(bool(cfg.reinit)).lower()}",
        f"model:{cfg.model.name}",
        *cfg.logger.tags,
    ]
    return list(dict.fromkeys(tags))


class Tracker:
    """The no-op tracker (logger=none, mode=disabled); `WandbTracker` overrides every method."""

    @classmethod
    def start(cls, cfg: DictConfig, run_dir: Path, group: str | None = None,
              overrides: Sequence[str] = (), varies: Mapping[str, str] | None = None) -> Tracker:
        """The tracker that `cfg.logger` asks for, started for the run whose files live in `run_dir`; `group`: the
        W&B group (default: logger.group, else the sweep's name); the job's overrides and the settings its run
        name carries go into the W&B config, so runs can be filtered by what a sweep varied."""
        backend = cfg.logger.backend
        if backend not in LOGGER_BACKENDS:
            raise ValueError(f"logger.backend={backend!r} is not valid; choose one of: {', '.join(LOGGER_BACKENDS)}")
        mode = "disabled" if backend == "none" else resolve_mode(cfg.logger.mode)
        if mode == "disabled":
            return Tracker()
        return WandbTracker.open(cfg, Path(run_dir), mode, group, overrides, varies or {})

    def log_cycle(self, metrics: Mapping[str, Any], samples: Sequence[Mapping[str, Any]]) -> None:
        """Record one cycle's metrics (a metrics.json "cycles" entry) and a few of its generations."""

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Record run-level results, e.g. {"amplification": {...}}."""

    def finish(self, exit_code: int = 0) -> None:
        """Close the run; a non-zero exit_code marks it failed."""

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(exit_code=0 if exc_type is None else 1)


class WandbTracker(Tracker):
    """Logs to one W&B run whose x-axis is the cycle (base model = cycle -1)."""

    def __init__(self, run: Any, samples_per_cycle: int, mode: str = "online") -> None:
        self._run = run
        self._samples_per_cycle = samples_per_cycle
        self._mode = mode

    @classmethod
    def open(cls, cfg: DictConfig, run_dir: Path, mode: str, group: str | None = None,
             overrides: Sequence[str] = (), varies: Mapping[str, str] | None = None) -> WandbTracker:
        """Start (or resume) the W&B run for `cfg`; W&B writes its files to `run_dir/wandb/`."""
        import wandb  # slow import, only paid when tracking is on

        run_dir.mkdir(parents=True, exist_ok=True)
        logger = cfg.logger
        config = scrub_secrets(read_settings(OmegaConf.to_container(cfg, resolve=True)))  # the keys the run reads
        config["run_dir"] = str(run_dir.resolve())
        config["overrides"] = [o for o in overrides if not is_secret_key(o.split("=", 1)[0].lstrip("+~"))]
        config["varies"] = dict(varies or {})
        run = wandb.init(
            project=logger.project,
            entity=logger.entity,
            group=group or logger.group or cfg.sweep,
            job_type=cfg.regime.name,
            name=cfg.run_name,
            id=wandb_run_id(cfg.run_name, cfg.sweep),
            resume="allow",
            tags=run_tags(cfg),
            config=config,
            dir=str(run_dir),
            mode=mode,
            # finish_previous: a run left open by an earlier failure in this process must not swallow this one.
            settings=wandb.Settings(silent=True, console="off", reinit="finish_previous"),
        )
        run.define_metric("cycle")
        for name, summary in CYCLE_METRICS.items():
            run.define_metric(name, step_metric="cycle", summary=summary)
        run.define_metric("*", step_metric="cycle")  # every other number too: seconds/*, judge_usage/*, ...
        return cls(run, logger.samples_per_cycle, mode)

    def log_cycle(self, metrics: Mapping[str, Any], samples: Sequence[Mapping[str, Any]]) -> None:
        import wandb

        if "cycle" not in metrics:
            raise ValueError(f"log_cycle needs metrics['cycle']; got keys {sorted(metrics)}")
        row = {key: value for key, value in flatten(metrics).items() if value is not None}
        if samples:
            rows = [[sample.get(col) for col in SAMPLE_COLUMNS] for sample in samples[: self._samples_per_cycle]]
            row["samples"] = wandb.Table(columns=list(SAMPLE_COLUMNS), data=rows)
        self._run.log(row)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        self._run.summary.update(dict(summary))

    def finish(self, exit_code: int = 0) -> None:
        offline_dir = Path(self._run.dir).parent if self._mode == "offline" else None  # wandb/offline-run-*/
        self._run.finish(exit_code=exit_code)
        if offline_dir is not None:
            log.info("W&B data is offline in %s; upload it with: wandb sync %s", offline_dir,
                     shlex.quote(str(offline_dir)))
