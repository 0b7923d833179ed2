"""Experiment tracking: one W&B run per ampli run, stepped by cycle.

The loop always holds a `Tracker`; with `logger=none` (or logger.mode=disabled) it is a no-op, so the loop never
branches on whether tracking is on. W&B runs offline unless an API key is available, so a laptop or a cluster node
without network never blocks on login; `wandb sync <run_dir>/wandb/offline-run-*` uploads later.

A run keeps one W&B run id for life (written to <run_dir>/wandb/run_id on its first start), so a rerun resumes the
same W&B run whatever its sweep is called; a rerun that computes nothing new (every stage skipped, the summary
unchanged) opens no W&B run at all, so it leaves no new offline folder behind.
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

from ampli.config.key_table import read_settings
from ampli.record.config import LOGGER_BACKENDS, LOGGER_MODES
from ampli.record.store import atomic_write_text, read_json, write_json

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


WANDB_DIR = "wandb"  # under the run directory
RUN_ID_FILE = "run_id"  # in WANDB_DIR: the W&B run id this run directory keeps
LOGGED_SUMMARY_FILE = "ampli_summary.json"  # in WANDB_DIR: the run summary last sent to W&B


def wandb_run_id(run_name: str, sweep: str) -> str:
    """A new run's W&B id, from its name and sweep (a run made before ampli kept its id in RUN_ID_FILE had this)."""
    return hashlib.sha1(f"{sweep}/{run_name}".encode()).hexdigest()[:16]


def kept_run_id(run_dir: Path, run_name: str, sweep: str) -> str:
    """The W&B run id of the run in `run_dir`: the one it kept from its first start, else a new one, kept now."""
    path = run_dir / WANDB_DIR / RUN_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    run_id = wandb_run_id(run_name, sweep)
    atomic_write_text(path, run_id + "\n")
    return run_id


def offline_folders(run_dir: Path) -> list[Path]:
    """The run's offline W&B folders, oldest first (one per process that logged something)."""
    return sorted((Path(run_dir) / WANDB_DIR).glob("offline-run-*"))


def sync_command(paths: Sequence[Path | str]) -> str:
    return "wandb sync " + " ".join(shlex.quote(str(p)) for p in paths)


def wandb_location(run_dirs: Sequence[Path]) -> str | None:
    """Where the W&B data of these runs is and how to upload what is offline, in one line; None without any."""
    folders = {Path(run_dir): offline_folders(run_dir) for run_dir in run_dirs}
    count = sum(map(len, folders.values()))
    if not count:
        return None
    runs = sum(bool(found) for found in folders.values())
    parents = sorted({str(run_dir.parent) for run_dir, found in folders.items() if found})
    return (f"{count} offline folder{'s' * (count != 1)} of {runs} run{'s' * (runs != 1)} under "
            f"<run>/{WANDB_DIR}/; upload them with: wandb sync "
            + " ".join(f"{shlex.quote(parent)}/*/{WANDB_DIR}/offline-run-*" for parent in parents))


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
    """Logs to one W&B run whose x-axis is the cycle (base model = cycle -1). The W&B run opens on the first thing
    there is to log, so a rerun with nothing new opens none."""

    def __init__(self, init: dict[str, Any], run_dir: Path, samples_per_cycle: int, mode: str = "online") -> None:
        self._init = init
        self._run: Any = None
        self._run_dir = run_dir
        self._samples_per_cycle = samples_per_cycle
        self._mode = mode

    @classmethod
    def open(cls, cfg: DictConfig, run_dir: Path, mode: str, group: str | None = None,
             overrides: Sequence[str] = (), varies: Mapping[str, str] | None = None) -> WandbTracker:
        """The tracker of the W&B run for `cfg` (resumed when it exists); W&B writes its files to `run_dir/wandb/`."""
        run_dir.mkdir(parents=True, exist_ok=True)
        logger = cfg.logger
        config = scrub_secrets(read_settings(OmegaConf.to_container(cfg, resolve=True)))  # the keys the run reads
        config["run_dir"] = str(run_dir.resolve())
        config["overrides"] = [o for o in overrides if not is_secret_key(o.split("=", 1)[0].lstrip("+~"))]
        config["varies"] = dict(varies or {})
        init = dict(
            project=logger.project,
            entity=logger.entity,
            group=group or logger.group or cfg.sweep,
            job_type=cfg.regime.name,
            name=cfg.run_name,
            id=kept_run_id(run_dir, cfg.run_name, cfg.sweep),
            resume="allow",
            tags=run_tags(cfg),
            config=config,
            dir=str(run_dir),
            mode=mode,
        )
        return cls(init, run_dir, logger.samples_per_cycle, mode)

    def _started(self) -> Any:
        if self._run is None:
            import wandb  # slow import, only paid when there is something to log

            # finish_previous: a run left open by an earlier failure in this process must not swallow this one.
            run = wandb.init(**self._init, settings=wandb.Settings(silent=True, console="off",
                                                                  reinit="finish_previous"))
            run.define_metric("cycle")
            for name, summary in CYCLE_METRICS.items():
                run.define_metric(name, step_metric="cycle", summary=summary)
            run.define_metric("*", step_metric="cycle")  # every other number too: seconds/*, judge_usage/*, ...
            self._run = run
        return self._run

    def log_cycle(self, metrics: Mapping[str, Any], samples: Sequence[Mapping[str, Any]]) -> None:
        import wandb

        if "cycle" not in metrics:
            raise ValueError(f"log_cycle needs metrics['cycle']; got keys {sorted(metrics)}")
        row = {key: value for key, value in flatten(metrics).items() if value is not None}
        if samples:
            rows = [[sample.get(col) for col in SAMPLE_COLUMNS] for sample in samples[: self._samples_per_cycle]]
            row["samples"] = wandb.Table(columns=list(SAMPLE_COLUMNS), data=rows)
        self._started().log(row)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Send the run summary, unless W&B already has this very summary and nothing else was logged."""
        path = self._run_dir / WANDB_DIR / LOGGED_SUMMARY_FILE
        summary = dict(summary)
        if self._run is None and path.is_file() and read_json(path) == summary:
            return
        self._started().summary.update(summary)
        write_json(path, summary)

    def finish(self, exit_code: int = 0) -> None:
        if self._run is not None:
            self._run.finish(exit_code=exit_code)
        folders = offline_folders(self._run_dir) if self._mode == "offline" else []
        if folders:
            log.info("W&B data is offline in %s (%d folder%s, run id %s); upload it with: %s",
                     self._run_dir / WANDB_DIR, len(folders), "s" * (len(folders) != 1), self._init["id"],
                     sync_command(folders))
