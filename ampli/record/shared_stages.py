"""Stages a reinit run and a continual run compute alike: the base eval and the seed cycle (cycle 0), and with the
persona probe on, its vector and its measures of both.

Reinit only decides where cycles 1, 2, ... start from, so two runs whose settings differ in nothing else have the
same base eval and the same cycle 0, file for file. When one of them has completed such a stage group, the other
adopts its files (hard links) instead of computing them again. A reinit-vs-continual sweep that runs its
continual jobs first (`make paper-table` does) so saves one cycle of every reinit run; runs that go side by side
both compute, as before, and neither waits for the other.

A run can also name the run it takes these stages from (loop.cycle0_from, whatever that run's seed): how
`ampli replicate` re-runs a flagged run with other seeds on the very cycle 0 it amplified from.
"""

import copy
import logging
import os
import shutil
from pathlib import Path

from ampli.config.key_table import reinit_dependent
from ampli.config.schema import ConfigError
from ampli.record.store import ADOPTING_PREFIX, RunStore, atomic_directory, fingerprint, read_json, write_json

log = logging.getLogger("ampli")


# Stage groups that do not depend on reinit, by the directory that holds them.
SHARED_GROUPS = {
    "base": ("base/eval",),
    "cycle_000": ("cycle_000/generate", "cycle_000/judge", "cycle_000/train", "cycle_000/eval"),
}
# With the persona probe on, neither do its vector (from the base model) and its measures of the base model and of
# cycle 0: a twin adopts them too (not a replication: loop.cycle0_from takes SHARED_GROUPS only).
PROBE_GROUPS = {
    "probe": ("probe/vector",),
    "base": ("base/probe",),
    "cycle_000": ("cycle_000/probe_predicted", "cycle_000/probe"),
}


def twin_groups(probed: bool) -> dict[str, tuple[str, ...]]:
    """The stage groups a run takes from its reinit/continual twin."""
    if not probed:
        return SHARED_GROUPS
    names = [*SHARED_GROUPS, *(g for g in PROBE_GROUPS if g not in SHARED_GROUPS)]
    return {group: SHARED_GROUPS.get(group, ()) + PROBE_GROUPS.get(group, ()) for group in names}


def shared_key(relevant: dict, probe: dict | None = None) -> str:
    """The fingerprint of what a run's shared stages depend on (`relevant`: the input of its result fingerprint):
    all of it but reinit and the keys read under one reinit setting only (ampli.config.key_table), and the probe's
    settings (`probe`, ampli.run.probe.config.probe_settings), which the result fingerprint leaves out."""
    shared = copy.deepcopy(relevant)
    for path in reinit_dependent():
        *groups, leaf = path.split(".")
        holder = shared
        for group in groups:
            holder = holder.get(group, {})
        holder.pop(leaf, None)
    if probe is not None:
        shared["persona_probe"] = probe
    return fingerprint(shared)


def find_donor(runs_dir: Path, key: str, stages: tuple[str, ...], exclude: Path) -> Path | None:
    """Another run under runs_dir with the same shared key that has completed all of `stages`."""
    for manifest_path in sorted(runs_dir.glob("*/manifest.json")):
        root = manifest_path.parent
        if root == exclude:
            continue
        try:
            manifest = read_json(manifest_path)
        except (OSError, ValueError):  # a run being created, or a damaged one: not a donor
            continue
        if manifest.get("shared_key") == key and set(stages) <= set(manifest.get("completed", ())):
            return root
    return None


def link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of source into target (a copy where links are refused). Every file of a run is
    replaced by renaming, never rewritten in place, so the two runs can never change each other's files."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link_or_copy, dirs_exist_ok=True)


def adopt(store: RunStore, key: str, group: str, groups: dict[str, tuple[str, ...]]) -> str | None:
    """Give the store the completed stage group `group` (its stages: groups[group], twin_groups) of a sibling run,
    if one has it and this run has none of its stages yet. Returns the donor's directory name, or None when there is
    nothing to adopt."""
    stages = groups.get(group)
    if stages is None or any(store.is_done(s) for s in stages):
        return None
    donor = find_donor(store.root.parent, key, stages, exclude=store.root)
    if donor is None:
        return None
    link_group(store, donor, group, stages)
    log.info("adopt %s from %s (it does not depend on reinit)", group, donor.name)
    return donor.name


def link_group(store: RunStore, donor: Path, group: str, stages: tuple[str, ...]) -> None:
    """Link the donor's files of a stage group into the store and mark `stages` complete."""
    target = store.root / group
    with atomic_directory(target, ADOPTING_PREFIX) as tmp:
        link_tree(donor / group, tmp)
        stats_path = tmp / "stats.json"
        if stats_path.exists():  # the donor paid for the judging: this run's judge budget does not count it again
            stats = read_json(stats_path)
            stats_path.unlink()  # a hard link: the donor's own file must stay as it is
            write_json(stats_path, {**stats, "judge_usage": {}, "adopted_from": donor.name})
        (tmp / "metrics.json").unlink(missing_ok=True)  # the loop writes this run's own
    for stage in stages:
        store.mark_done(stage)


def cycle0_donor(runs_dir: Path, cycle0_from: str) -> Path:
    """The run directory loop.cycle0_from names (a path, or a run name under runs_dir), checked to hold a finished
    base eval and cycle 0 before this run makes its own directory."""
    donor = Path(cycle0_from).expanduser()
    donor = (donor if donor.is_absolute() or len(donor.parts) > 1 else runs_dir / donor).resolve()
    manifest_path = donor / "manifest.json"
    try:
        completed = set(read_json(manifest_path).get("completed", ()))
    except (OSError, ValueError):
        raise ConfigError(f"loop.cycle0_from={cycle0_from!r} is not valid: {manifest_path} cannot be read; give a "
                          f"run directory, or the name of a run under {runs_dir}") from None
    missing = [s for group in SHARED_GROUPS.values() for s in group if s not in completed]
    if missing:
        raise ConfigError(f"loop.cycle0_from={cycle0_from!r} is not valid: {donor} has not completed "
                          f"{', '.join(missing)}; let that run finish its seed cycle first")
    return donor


def adopt_cycle0(store: RunStore, donor: Path) -> list[str]:
    """loop.cycle0_from: take the base eval and cycle 0 of the given run, whatever its seed (the replication
    mechanism of `ampli replicate`). Returns the stage groups adopted now (none on a resume that has them)."""
    adopted = []
    for group, stages in SHARED_GROUPS.items():
        if any(store.is_done(s) for s in stages):
            continue
        link_group(store, donor, group, stages)
        log.info("adopt %s from %s (loop.cycle0_from)", group, donor.name)
        adopted.append(group)
    return adopted
