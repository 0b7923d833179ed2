"""What a run is: the settings its results depend on (its fingerprint) and the directory name that says them.

A run directory is named by a readable stem, trait-regime-reinit-model-s<seed>, plus every override of the job
that changes results and is not in the stem, so that the jobs of a sweep over any key (`regime.beta=0.05,0.2`)
each get a directory of their own and a rerun of the same command finds them again:

    bliss-dpo-continual-tiny-s0-beta=0.05,seed_examples=32

Which keys enter the fingerprint and the name is the key table's decision (ampli/config/key_table.py): a key that does
not change results (logger, cluster, device, loop.cycles, which extends a run, ...), or that the run does not read,
never enters either. An explicit `run_name=` wins.
"""

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ampli.config.key_table import GROUP_CHOICE, RESULT, affects_results, read_settings
from ampli.config.schema import AmpliConfig
from ampli.record.fingerprint_v1 import v1_fingerprint
from ampli.record.store import fingerprint, read_json

log = logging.getLogger("ampli")

# The keys the stem already names.
STEM_KEYS = ("trait", "regime", "reinit", "model", "seed")
DEFAULT_RUN_NAME = AmpliConfig.run_name  # the stem, as an interpolation
MAX_NAME_CHARS = 200  # well below file systems' 255 bytes; a sweep over a few keys stays readable
_ABSENT = object()  # OmegaConf.select's answer for a key the config does not have (a config group's name)
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=,-]+")


def result_inputs(resolved: dict, runtime: dict) -> dict:
    """What a run's results depend on: the result keys of the key table that this run reads, plus what is resolved
    at run time (the device type, where the weights came from, the chat-template arguments)."""
    return read_settings(resolved, effects=(RESULT,)) | {"runtime": runtime}


def result_fingerprint(resolved: dict, runtime: dict) -> str:
    return fingerprint(result_inputs(resolved, runtime))


def accepted_fingerprints(resolved: dict, runtime: dict) -> tuple[str, str]:
    """The run's fingerprint, and the one a run made before the key table would have written for it."""
    return result_fingerprint(resolved, runtime), v1_fingerprint(resolved, runtime)


@dataclass(frozen=True)
class JobInfo:
    """What the launcher knows of a job and the config does not: its overrides, and the sweep it belongs to."""

    overrides: tuple[str, ...] = ()
    sweep_dir: str | None = None  # a -m sweep's directory; None for a single run


@dataclass(frozen=True)
class RunIdentity:
    name: str
    stem: str
    varies: dict[str, str] = field(default_factory=dict)  # dotted key (or group) -> value, as in the name
    pinned: bool = False  # run_name= was given


def value_text(value) -> str:
    """A resolved value as it reads in a name: 0.0001, 3e-5, true, null, [a,b]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return re.sub(r"e([+-])0+(\d)", r"e\1\2", f"{value:g}")
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def varied_settings(cfg: DictConfig, overrides: Sequence[str]) -> dict[str, str]:
    """The job's overrides that change results and are not in the stem: key -> its resolved value as text (a group
    -> the option chosen). Sorted by key, so the order on the command line does not matter."""
    varies: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if override.package or key in STEM_KEYS or not affects_results(key, None if override.is_delete() else cfg):
            continue
        if override.is_delete():
            varies[key] = "~"
            continue
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
        if value is _ABSENT or isinstance(value, DictConfig):  # a config group (judge=openai, experiment=paper_dpo)
            varies[key] = value_text(override.value())
        else:
            varies[key] = value_text(OmegaConf.to_container(value, resolve=True)
                                      if OmegaConf.is_config(value) else value)
    return dict(sorted(varies.items()))


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each dotted key by its last part where no other key shares it (regime.beta -> beta), else in full; also in
    full where the last part is a group's name (judge.model, not model: the stem names the trained model)."""
    leaves = [key.rsplit(".", 1)[-1] for key in keys]
    groups = {*GROUP_CHOICE, *STEM_KEYS}
    return {key: leaf if leaves.count(leaf) == 1 and (leaf not in groups or leaf == key) else key
            for key, leaf in zip(keys, leaves)}


def settings_label(varies: dict[str, str]) -> str:
    """beta=0.05,seed_examples=32: the varied settings as the run name shows them."""
    names = short_keys(list(varies))
    return ",".join(f"{names[key]}={value}" for key, value in varies.items())


def name_with_settings(stem: str, varies: dict[str, str]) -> str:
    """stem-<settings>; characters a file system or shell would trip on become '_', and a name that had any, or
    would be longer than MAX_NAME_CHARS, ends in a hash of the settings so that it stays unique."""
    if not varies:
        return stem
    label = settings_label(varies)
    safe = _UNSAFE.sub("_", label)
    name = f"{stem}-{safe}"
    if safe == label and len(name) <= MAX_NAME_CHARS:
        return name
    digest = hashlib.sha1(json.dumps(varies, sort_keys=True).encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME_CHARS - len(digest) - 2]}-h{digest}"


def run_identity(cfg: DictConfig, job: JobInfo) -> RunIdentity:
    """The run's directory name from its config (the stem, or an explicit run_name) and the job's overrides."""
    stem = str(cfg.run_name)
    varies = varied_settings(cfg, job.overrides)
    if OmegaConf.to_container(cfg)["run_name"] != DEFAULT_RUN_NAME:  # run_name= given: it wins
        return RunIdentity(name=stem, stem=stem, varies=varies, pinned=True)
    return RunIdentity(name=name_with_settings(stem, varies), stem=stem, varies=varies)


def run_root(runs_dir: Path, identity: RunIdentity, fingerprints: Sequence[str]) -> Path:
    """Where the run lives: runs_dir/<name>, or, for a run made before names carried the varied settings, its old
    directory runs_dir/<stem> when that holds this very configuration (the same fingerprint) and no newer one
    exists, so such runs keep resuming."""
    root = runs_dir / identity.name
    legacy = runs_dir / identity.stem
    if root == legacy or (root / "manifest.json").exists() or not (legacy / "manifest.json").exists():
        return root
    try:
        same = read_json(legacy / "manifest.json").get("fingerprint") in fingerprints
    except (OSError, ValueError):
        return root
    if same:
        log.info("resuming %s, named before run names carried their varied settings (%s)", legacy,
                 settings_label(identity.varies))
        return legacy
    return root
