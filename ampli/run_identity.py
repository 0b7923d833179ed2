"""What a run is: the settings its results depend on (its fingerprint) and the directory name that says them.

A run directory is named by a readable stem, trait-regime-reinit-model-s<seed>, plus every override of the job
that changes results and is not in the stem, so that the jobs of a sweep over any key (`regime.beta=0.05,0.2`)
each get a directory of their own and a rerun of the same command finds them again:

    bliss-dpo-continual-tiny-s0-beta=0.05,seed_examples=32

Keys that only change how a run is executed or reported (logger, cluster, device, loop.cycles, which extends a
run, ...) never enter the name, as they never enter the fingerprint. An explicit `run_name=` wins.
"""

import copy
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ampli.config import AmpliConfig
from ampli.store import fingerprint, read_json

log = logging.getLogger("ampli")

# Settings that change how a run is executed or reported, not its results: they may differ on a resume (the probe
# only measures; its own settings are checked against what it measured with, ampli.probe.stages).
NOT_IN_FINGERPRINT = ("logger", "cluster", "sweep", "output_dir", "model_cache", "device", "run_lock", "hydra",
                      "replication_of", "probe")
# Within groups that are in the fingerprint, the keys that are: more loop.cycles extend a run, and which samples are
# judged changes what is measured of them, never a model (loop.judge_samples); of the engine only
# its kind matters (not where or how big it is); of the judge, what decides its scores (not its budget or speed).
LOOP_KEYS_NOT_IN_FINGERPRINT = ("cycles", "judge_samples")
GENERATION_RESULT_KEYS = ("backend",)
JUDGE_RESULT_KEYS = ("backend", "model", "top_logprobs", "min_number_mass", "refusal_policy")
# Keys that only check a run at start (what the adapter must cover, that a vision tower is left out).
CHECK_ONLY_KEYS = ("model.text_only", "model.lora.cover")
# Result keys added after runs were made: at these values (what runs before them did) they stay out of the
# fingerprint, so those runs resume. regime.continuation's default is now neutral: an older SDF run continued trait
# prefixes and resumes with regime.continuation=trait_prefix (conf/tuned/tiny_sdf.yaml sets it).
KEYS_ADDED_LATER = {"loop.cycle0_from": None, "model.lora.target_parameters": [], "regime.lr_min_ratio": 0.0,
                    "regime.restart_from_base_cycles": [], "regime.cycle0_checkpoint": None,
                    "regime.kl_estimator": "full", "regime.continuation": "trait_prefix"}
# Of the training backend: which service and model, and the adapter (not its SDK module, retries or budget). A local
# run leaves the group out altogether, so runs made before the group existed keep their fingerprints.
BACKEND_RESULT_KEYS = ("name", "base_model", "lora_rank", "adam_eps")
# The keys the stem already names.
STEM_KEYS = ("trait", "regime", "reinit", "model", "seed")
DEFAULT_RUN_NAME = AmpliConfig.run_name  # the stem, as an interpolation
MAX_NAME_CHARS = 200  # well below file systems' 255 bytes; a sweep over a few keys stays readable
_ABSENT = object()  # OmegaConf.select's answer for a key the config does not have (a config group's name)
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=,-]+")


def result_inputs(resolved: dict, runtime: dict) -> dict:
    """What a run's results depend on: its config, less what only changes how it is run or reported, plus what
    is resolved at run time (the device type, where the weights came from, the chat-template arguments)."""
    relevant = copy.deepcopy({k: v for k, v in resolved.items() if k not in NOT_IN_FINGERPRINT}) | {"runtime": runtime}
    relevant["loop"] = {k: v for k, v in relevant["loop"].items() if k not in LOOP_KEYS_NOT_IN_FINGERPRINT}
    relevant["generation"] = {k: v for k, v in relevant["generation"].items() if k in GENERATION_RESULT_KEYS}
    relevant["judge"] = {k: v for k, v in relevant["judge"].items() if k in JUDGE_RESULT_KEYS}
    for key in (*CHECK_ONLY_KEYS, *KEYS_ADDED_LATER):
        *groups, name = key.split(".")
        holder = relevant
        for group in groups:
            holder = holder.get(group) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and name in holder and (
                key in CHECK_ONLY_KEYS or holder[name] == KEYS_ADDED_LATER[key]):
            del holder[name]
    backend = relevant.pop("backend", {"name": "local"})
    if backend["name"] != "local":
        relevant["backend"] = {k: v for k, v in backend.items() if k in BACKEND_RESULT_KEYS}
    return relevant


def result_fingerprint(resolved: dict, runtime: dict) -> str:
    return fingerprint(result_inputs(resolved, runtime))


def affects_results(key: str) -> bool:
    """Whether a config key (dotted, or a group name) is among the result inputs above."""
    top, _, rest = key.partition(".")
    sub = rest.split(".")[0]
    if top in NOT_IN_FINGERPRINT or top.startswith("hydra/") or key in CHECK_ONLY_KEYS:
        return False
    if top == "loop":
        return sub not in LOOP_KEYS_NOT_IN_FINGERPRINT
    if top == "generation":
        return not rest or sub in GENERATION_RESULT_KEYS
    if top == "judge":
        return not rest or sub in JUDGE_RESULT_KEYS
    if top == "backend":
        return not rest or sub in BACKEND_RESULT_KEYS
    return True


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
        if override.package or key in STEM_KEYS or key == "run_name" or not affects_results(key):
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
    """Each dotted key by its last part where no other key shares it (regime.beta -> beta), else in full."""
    leaves = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: leaf if leaves.count(leaf) == 1 else key for key, leaf in zip(keys, leaves)}


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


def run_root(runs_dir: Path, identity: RunIdentity, config_fingerprint: str) -> Path:
    """Where the run lives: runs_dir/<name>, or, for a run made before names carried the varied settings, its old
    directory runs_dir/<stem> when that holds this very configuration (the same fingerprint) and no newer one
    exists, so such runs keep resuming."""
    root = runs_dir / identity.name
    legacy = runs_dir / identity.stem
    if root == legacy or (root / "manifest.json").exists() or not (legacy / "manifest.json").exists():
        return root
    try:
        same = read_json(legacy / "manifest.json").get("fingerprint") == config_fingerprint
    except (OSError, ValueError):
        return root
    if same:
        log.info("resuming %s, named before run names carried their varied settings (%s)", legacy,
                 settings_label(identity.varies))
        return legacy
    return root
