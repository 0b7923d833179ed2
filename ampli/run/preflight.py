"""Before Hydra starts any job: compose every job's config of the command line, so a mistake ends in one line and
exit 2 (`ampli: error: ...`, with a did-you-mean) instead of Hydra's traceback, a half-run sweep, or a key that is
silently ignored.

Each job's config (of a large sweep: a covering set of jobs, see job_overrides) is checked for keys no schema has (Hydra lets `+key=value` add any), for overrides its regime, judge
or generation backend does not read, and for sweeps over keys that change nothing (ampli/run/key_checks.py), and by
ampli.config.schema.validate. Command lines with Hydra's own flags (--cfg, --info, --config-dir, ...) go to Hydra
unchecked.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ampli.config.schema import ConfigError, validate
from ampli.judges.verdict import PRIMARY
from ampli.run.cluster import slurm_problem
from ampli.run.key_checks import check_known_keys, check_read_keys, check_sweep_keys, did_you_mean, unknown_key_error

MULTIRUN_FLAGS = ("-m", "--multirun")
FULL_CHECK_JOBS = 8  # a job's config composes in 0.1-0.4 s; the 84 jobs of `make paper-table` are checked on 7 (2.8 s)
_COULD_NOT_OVERRIDE = re.compile(r"Could not override '([^']+)'")


def job_overrides(args: Sequence[str]) -> list[list[str]] | None:
    """The overrides of the jobs to check (a sweep's lists expanded as Hydra's basic sweeper does; a sweep of more
    than FULL_CHECK_JOBS jobs is checked on a covering set: every value of every list in at least one job); None when
    the command line has flags other than -m, or a sweep that is not a list, which Hydra handles on its own."""
    multirun = any(a in MULTIRUN_FLAGS for a in args)
    overrides = [a for a in args if a not in MULTIRUN_FLAGS]
    if any(a.startswith("-") for a in overrides):
        return None
    overrides = [o for o in overrides  # Hydra's own settings, except where it looks for config groups
                 if o.startswith("hydra.searchpath=") or not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    if not multirun:
        return [overrides]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as err:
        raise ConfigError(_first_line(err)) from None
    lists = []
    for override in parsed:
        key = override.get_key_element()
        if not override.is_sweep_override():
            lists.append([f"{key}={override.get_value_element_as_str()}"])
        elif override.is_discrete_sweep():
            lists.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:  # an interval: a sweeper plugin's business
            return None
    if math.prod(len(values) for values in lists) <= FULL_CHECK_JOBS:
        return [list(job) for job in itertools.product(*lists)]
    longest = max((len(values) for values in lists), default=1)
    return [[values[i % len(values)] for values in lists] for i in range(longest)]


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _group_error(err: MissingConfigException, overrides: Sequence[str]) -> ConfigError:
    """`trait=hopelesness is not valid; choose one of: ... (did you mean hopelessness?)`."""
    missing = (err.missing_cfg_file or "").strip("/")
    group, _, choice = missing.rpartition("/")
    options = [o for o in (err.options or []) if not o.startswith("_")]
    if group and options:
        given = next((o for o in overrides if o.lstrip("+").startswith(f"{group}=")), f"{group}={choice}")
        return ConfigError(f"{given} is not valid: there is no {group} {choice!r}{did_you_mean(choice, options)}; "
                           f"choose one of: {', '.join(options)}")
    return ConfigError(_first_line(err))


def _key_error(err: Exception) -> ConfigError:
    """`loop.cycle=3 is not a config key: loop has no key 'cycle' (did you mean cycles?); valid keys under loop: ...`
    for Hydra's "Could not override"; else Hydra's first line."""
    key = _COULD_NOT_OVERRIDE.search(str(err))
    return unknown_key_error(key.group(1)) if key else ConfigError(_first_line(err))


def compose_job(overrides: list[str]) -> DictConfig:
    """The job's composed config, Hydra's errors turned into one-line ConfigErrors."""
    try:
        return compose(config_name="config", overrides=overrides)
    except MissingConfigException as err:
        raise _group_error(err, overrides) from None
    except (HydraException, OmegaConfBaseException) as err:
        raise _key_error(err) from None


def verdict_warning(cfg: DictConfig) -> str | None:
    """A warning when loop.cycles is too few for the verdict rule ever to decide (the report would count every run as
    pending), naming the least loop.cycles that can."""
    needed = PRIMARY.first_decisive_cycle() + 1  # cycles are numbered from 0
    if cfg.loop.cycles >= needed:
        return None
    return (f"loop.cycles={cfg.loop.cycles} cannot reach a verdict: the rule ({PRIMARY.describe()}) needs "
            f"loop.cycles >= {needed}; these runs will be reported as pending")


def preflight(config_dir: Path, args: Sequence[str]) -> list[str]:
    """Check every job of the command line; raise ConfigError on the first mistake, return warnings to print."""
    jobs = job_overrides(args)
    if jobs is None:
        return []
    warnings: list[str] = []
    multirun = any(a in MULTIRUN_FLAGS for a in args)
    if multirun:
        check_sweep_keys([a for a in args if a not in MULTIRUN_FLAGS])
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3", job_name="launch"):
        for overrides in jobs:
            cfg = compose_job(overrides)
            check_known_keys(cfg)
            warnings += [w for w in [*check_read_keys(cfg, overrides), verdict_warning(cfg)] if w and w not in warnings]
            if multirun and cfg.cluster.name == "slurm" and slurm_problem():  # only -m submits to SLURM
                raise ConfigError(slurm_problem())
            try:
                validate(OmegaConf.to_object(cfg))
            except OmegaConfBaseException as err:  # a missing value (???) the job would fail on
                raise ConfigError(_first_line(err)) from None
    return warnings
