"""Models that ampli makes itself (the tiny model, converted offline copies) are built once and shared by every run,
whatever its output_dir: in $AMPLI_CACHE, else $XDG_CACHE_HOME/ampli, else ~/.cache/ampli (model_cache=DIR overrides).

Several jobs may start at once (a SLURM array, a local sweep), on hosts that share the cache over NFS, where flock is
missing or unreliable: one builds under a lock file made with link(2) (ampli.record.run_lock, with its heartbeat and the
take-over of a builder that died), the others wait and reuse the result. A build goes into a temp directory renamed
into place when complete, so a killed build never leaves a half-written model that later runs would load.
"""

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from ampli.record.config import RunLockConfig, default_cache_dir
from ampli.record.run_lock import RunLock, RunLocked
from ampli.record.store import atomic_directory

log = logging.getLogger("ampli")

READY_FILE = "config.json"  # every saved transformers model has one; it marks a complete directory
WAIT_POLL_S = 1.0


def build_once(final: Path, build: Callable[[Path], None], lock: RunLockConfig = RunLockConfig(),
               poll_s: float = WAIT_POLL_S) -> Path:
    """Return `final`, calling build(tmp_dir) first unless a complete copy already exists or another process is
    building it (then wait for that one)."""
    waiting = False
    while not (final / READY_FILE).exists():
        try:
            held = RunLock.acquire(final.parent, lock, name=f".{final.name}.lock")
        except RunLocked as busy:
            if not waiting:
                who = busy.holder.describe() if busy.holder else "another process"
                log.info("waiting for %s to finish building %s", who, final)
                waiting = True
            time.sleep(poll_s)
            continue
        try:
            if not (final / READY_FILE).exists():
                partial = f".{final.name}.partial-"
                for leftover in final.parent.glob(f"{partial}*"):  # of builders that died: the lock is ours now
                    shutil.rmtree(leftover, ignore_errors=True)
                with atomic_directory(final, prefix=partial) as tmp:
                    build(tmp)
        finally:
            held.release()
    return final
