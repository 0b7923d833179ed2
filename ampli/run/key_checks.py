"""The start checks of the keys a command line sets, from the key table (ampli/config/key_table.py): a key no schema
has, a key the chosen combination does not read (refused when set to another value than its default, warned about when
set to the default), and a sweep over a key that does not change results (its jobs would share one run directory).
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ampli.config.key_table import KEYS, PLACE, affects_results, is_read, row, schema_default
from ampli.config.schema import AmpliConfig, ConfigError
from ampli.record.run_identity import value_text


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


def _plain(value):
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def unread_keys(cfg: DictConfig, overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for the overrides that set a key the chosen combination does not read: an error when the
    value differs from the schema's default (it would name a run directory and change nothing), a warning when it is
    the default anyway. Each message says when the key is read and which keys of its group are read here."""
    errors, warnings = [], []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if override.is_delete() or override.package or "." not in key:
            continue  # group choices (judge=openai) are checked by validate; deletions by the schema
        found = row(key)
        if found is None or is_read(found, cfg):
            continue
        group = found.path.split(".")[0]
        settings = sorted({path for alt in found.when for path in alt})
        here = ", ".join(f"{path}={value_text(_plain(OmegaConf.select(cfg, path, default=None)))}" for path in settings)
        read_here = [k.path for k in KEYS if k.path.startswith(f"{group}.") and is_read(k, cfg)]
        message = (f"{override.input_line} is not read with {here}: {found.path} is read only when "
                   f"{found.condition_text()}; the {group} keys read here: {', '.join(read_here)}")
        (warnings if _plain(OmegaConf.select(cfg, key, default=None)) == schema_default(key) else errors).append(
            message)
    return errors, warnings


def check_read_keys(cfg: DictConfig, overrides: Sequence[str]) -> list[str]:
    """Raise on the first override the run would ignore with a non-default value; return the warnings."""
    errors, warnings = unread_keys(cfg, overrides)
    if errors:
        raise ConfigError(errors[0])
    return warnings


def check_sweep_keys(overrides: Sequence[str]) -> None:
    """A -m sweep over a key that does not change results (loop.cycles, logger.*, judge.concurrency, ...) would run
    the same run twice, in one directory: refuse it, naming the key."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if not override.is_sweep_override():
            continue
        key = override.key_or_group
        if key.startswith(("hydra.", "hydra/")):
            continue
        found = row(key)
        if (found is not None and found.effect == PLACE) or affects_results(key):
            continue
        raise ConfigError(f"{override.input_line} sweeps a setting that does not change what a run computes, so its "
                          f"jobs would share one run directory (and its lock); run each value as its own command, or "
                          f"sweep a setting of the run (python launch.py --help marks which keys change results)")
