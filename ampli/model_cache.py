"""Models that ampli makes itself (the tiny model, converted offline copies) are built once and shared.

Several jobs may start at once (a SLURM array, a local sweep): one builds under a lock, the others wait and
reuse the result. A build goes into a temp directory renamed into place when complete, so a killed build never
leaves a half-written model that later runs would load.
"""

import fcntl
from collections.abc import Callable
from pathlib import Path

from ampli.store import atomic_directory

READY_FILE = "config.json"  # every saved transformers model has one; it marks a complete directory


def build_once(final: Path, build: Callable[[Path], None]) -> Path:
    """Return `final`, calling build(tmp_dir) first unless a complete copy already exists."""
    if (final / READY_FILE).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / READY_FILE).exists():
            with atomic_directory(final, prefix=f".{final.name}.") as tmp:
                build(tmp)
    return final
