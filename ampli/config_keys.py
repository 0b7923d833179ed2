"""Which keys each regime, judge backend and generation backend reads, in one table each, and the checks that use
them: a key set on the command line that the chosen component never reads is refused (or, when set to its default,
warned about) before any work starts, naming the keys that component does read.

To add a knob: add the field to the dataclass (ampli/config.py, judges/config.py, generation/config.py) and its name
to the row of every component that reads it. A component without a row (a regime being added) is not checked.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ampli.config import AmpliConfig, ConfigError, RegimeConfig
from ampli.generation.config import GenerationConfig
from ampli.judges.config import JudgeConfig

# regime.* keys the training loop reads for every regime (ampli/training.py, seq_length.py, sampling.py).
REGIME_COMMON = ("name", "learning_rate", "continual_learning_rate", "lr_scheduler", "epochs", "batch_size",
                 "grad_accum", "weight_decay", "max_grad_norm", "max_length", "allow_truncation", "warmup",
                 "adam_beta2", "cycle0_batch_size", "samples_per_cycle", "lr_min_ratio", "restart_from_base_cycles",
                 "cycle0_checkpoint")
REGIME_KEYS: dict[str, tuple[str, ...]] = {
    "sft": (),
    "sdf": ("prefix_chars", "continuation"),
    "dpo": ("beta", "rejected_source", "loss_type", "loss_weights"),
    "distill": ("group_size", "temperature", "kl_coef", "kl_estimator"),
}

# judge.* keys every backend reads (the pipeline, the score cache, the EM rate, perplexity).
JUDGE_COMMON = ("name", "backend", "model", "refusal_policy", "em_rate", "cache", "perplexity")
_API = ("base_url", "api_key_env", "concurrency", "max_retries", "timeout_s", "backoff_s", "max_backoff_s",
        "max_tokens", "temperature", "input_cost_per_mtok", "output_cost_per_mtok", "max_cost_usd", "max_attempts",
        "max_concurrency")
_LOGPROB_SCORES = ("top_logprobs", "min_number_mass")  # the score as the probability-weighted mean of number tokens
JUDGE_KEYS: dict[str, tuple[str, ...]] = {
    "offline": ("allow_lexicon_on_real_model",),
    "hf": ("batch_size", "device", *_LOGPROB_SCORES),
    "openai": (*_API, *_LOGPROB_SCORES),
    "vllm": (*_API, *_LOGPROB_SCORES),
    "anthropic": _API,
}

GENERATION_COMMON = ("name", "backend")
GENERATION_KEYS: dict[str, tuple[str, ...]] = {
    "hf": (),
    "vllm": ("python", "gpu_memory_utilization", "max_model_len", "tensor_parallel_size", "enforce_eager",
             "start_timeout_s", "stop_timeout_s", "request_timeout_s", "release_tolerance_gib", "release_timeout_s"),
}


@dataclass(frozen=True)
class Component:
    group: str  # the config group: regime, judge, generation
    choice: str  # where in the composed config its chosen name is: regime.name, judge.backend, ...
    common: tuple[str, ...]
    keys: Mapping[str, tuple[str, ...]]
    schema: type

    def reads(self, chosen: str) -> tuple[str, ...] | None:
        """The keys the chosen component reads; None for one without a row (not checked)."""
        own = self.keys.get(chosen)
        return None if own is None else (*self.common, *own)


COMPONENTS = (
    Component("regime", "regime.name", REGIME_COMMON, REGIME_KEYS, RegimeConfig),
    Component("judge", "judge.backend", JUDGE_COMMON, JUDGE_KEYS, JudgeConfig),
    Component("generation", "generation.backend", GENERATION_COMMON, GENERATION_KEYS, GenerationConfig),
)


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """` (did you mean x?)` for the closest option, or nothing."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _dataclass_of(hint: Any) -> type | None:
    """The dataclass a field holds (also through Optional), else None (a plain value, list or free dict)."""
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def unknown_keys(node: DictConfig, schema: type = AmpliConfig, prefix: str = "") -> list[tuple[str, list[str]]]:
    """(dotted key, the keys valid there) for each key in `node` that `schema` has no field for: Hydra lets
    `+key=value` add any key, which the run would then ignore."""
    hints = typing.get_type_hints(schema)
    found = []
    for key in node.keys():
        key = str(key)
        if key not in hints:
            found.append((f"{prefix}{key}", sorted(hints)))
            continue
        child_schema = _dataclass_of(hints[key])
        child = node._get_node(key)
        if child_schema is not None and isinstance(child, DictConfig) and not child._is_none():
            found += unknown_keys(child, child_schema, f"{prefix}{key}.")
    return found


def unknown_key_error(dotted: str) -> ConfigError:
    """The one-line error for a key the schema lacks: its first unknown part, the closest valid key, the valid keys
    at that level."""
    schema: type | None = AmpliConfig
    parts = dotted.lstrip("+").split(".")
    for depth, part in enumerate(parts):
        hints = typing.get_type_hints(schema) if schema is not None else {}
        if part not in hints or schema is None:
            parent = ".".join(parts[:depth])
            where = f"{parent} has no key {part!r}" if parent else f"there is no top-level key {part!r}"
            return ConfigError(f"{dotted.lstrip('+')} is not a config key: {where}{did_you_mean(part, sorted(hints))}; "
                               f"valid keys{f' under {parent}' if parent else ''}: {', '.join(sorted(hints))}")
        schema = _dataclass_of(hints[part])
        if schema is None:  # a free-form dict (cluster, chat_template_kwargs) takes any key, added with +
            break
    return ConfigError(f"{dotted.lstrip('+')} is not set in the config yet; add it with +{dotted.lstrip('+')}=VALUE")


def check_known_keys(cfg: DictConfig) -> None:
    """Refuse a key no schema has (e.g. `+loop.cycle=3` for loop.cycles), with the closest valid key."""
    unknown = unknown_keys(cfg)
    if unknown:
        raise unknown_key_error(unknown[0][0])


def _override_key(override: str) -> tuple[str, str] | None:
    """('regime.beta', '0.5') from `regime.beta=0.5` or `+regime.beta=0.5`; None for a group choice or deletion."""
    key, sep, value = override.partition("=")
    key = key.lstrip("+")
    if not sep or key.startswith("~") or "." not in key or "/" in key or "@" in key:
        return None
    return key, value


def unread_keys(cfg: DictConfig, overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for the overrides that set a key the chosen regime / judge / generation backend does not
    read: an error when the value differs from the schema's default (it would change the run's fingerprint and do
    nothing), a warning when it is the default anyway."""
    errors, warnings = [], []
    for override in overrides:
        parsed = _override_key(override)
        if parsed is None:
            continue
        key, _ = parsed
        group, _, rest = key.partition(".")
        field = rest.split(".")[0]
        for component in COMPONENTS:
            if component.group != group:
                continue
            chosen = OmegaConf.select(cfg, component.choice)
            reads = component.reads(chosen)
            if reads is None or field in reads:
                continue
            default = getattr(component.schema(), field, None) if field in typing.get_type_hints(
                component.schema) else None
            value = OmegaConf.select(cfg, f"{group}.{field}")
            value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
            default = dataclasses.asdict(default) if dataclasses.is_dataclass(default) else default
            readers = [name for name, keys in component.keys.items() if field in keys]
            own = component.keys[chosen]
            message = (f"{override} is not read by {group}={chosen}"
                       + (f" (only by {group}={', '.join(readers)})" if readers else "")
                       + f"; {group}={chosen} reads "
                       + (f"{', '.join(f'{group}.{k}' for k in own)} and " if own else "")
                       + f"the {group} keys every choice reads: {', '.join(component.common)}")
            (warnings if value == default else errors).append(message)
    return errors, warnings


def check_read_keys(cfg: DictConfig, overrides: Sequence[str]) -> list[str]:
    """Raise on the first override the run would ignore with a non-default value; return the warnings."""
    errors, warnings = unread_keys(cfg, overrides)
    if errors:
        raise ConfigError(errors[0])
    return warnings
