"""The run directory: atomic files and a manifest of completed stages, so any rerun resumes where it stopped.

A stage's outputs are written first and the stage is marked complete last; a crash between the two only
costs redoing that one stage, never a half-written file taken as done.
"""

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ampli.record.config import RunLockConfig
from ampli.record.run_lock import RunLock


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()
PARTIAL_CHECKPOINT_PREFIX = ".checkpoint."  # a checkpoint being saved, renamed into place when complete
ADOPTING_PREFIX = ".adopting."  # a stage group being linked in from a sibling run (ampli.record.shared_stages)


class DiskFullError(OSError):
    """No space left while saving a run's file: what was saved before is intact, and a rerun resumes."""


@contextmanager
def disk_full_names(path: Path, what: str) -> Iterator[None]:
    """Turn a bare 'No space left on device' into an error naming what was being saved and what to do."""
    try:
        yield
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        raise DiskFullError(
            f"disk full while saving {what} {path} ({e.strerror or e}); everything saved before is kept: "
            f"free some space and rerun the same command to resume"
        ) from e


@contextmanager
def atomic_directory(final: Path, prefix: str) -> Iterator[Path]:
    """Yield an empty temp directory beside `final`; when the block succeeds it replaces `final` whole, when it
    fails it is removed, so a model directory is either complete or absent."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=prefix))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so readers never see a partial file."""
    with disk_full_names(path, "file"):
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(path, text)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp creates 0600; give the file the permissions open() would
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")  # keys in the order written


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


class JsonlError(ValueError):
    """A JSONL file that cannot be read; the message names the file and line."""


def jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line."""
    with path.open(encoding="utf-8") as f:
        yield from ((lineno, line) for lineno, line in enumerate(f, start=1) if line.strip())


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        raise JsonlError(f"{path} does not exist")
    rows = []
    for lineno, line in jsonl_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise JsonlError(f"{path}:{lineno}: malformed JSON line ({e.msg}): {line.strip()[:80]!r}") from None
        if not isinstance(row, dict):
            raise JsonlError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class FingerprintMismatch(RuntimeError):
    pass


class RunStore:
    """One run's directory, written by one process at a time: the holder of its run lock, from construction to
    close(). Stage names look like 'base/eval' or 'cycle_003/train'."""

    def __init__(self, root: Path, config_fingerprint: str, lock: RunLockConfig | None = None,
                 shared_key: str | None = None, earlier_fingerprints: tuple[str, ...] = ()):
        self.root = root
        # Before anything is read or cleaned up: a second process must not touch the first one's files.
        self.lock = RunLock.acquire(root, lock or RunLockConfig())
        try:
            self._open(config_fingerprint, shared_key, earlier_fingerprints)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, config_fingerprint: str, shared_key: str | None, earlier: tuple[str, ...]) -> None:
        """`earlier`: what an older ampli wrote for this same configuration (ampli.record.fingerprint_v1); such a run
        resumes and keeps its manifest's fingerprint."""
        root = self.root
        self._manifest_path = root / "manifest.json"
        if self._manifest_path.exists():
            self.manifest = read_json(self._manifest_path)
            old = self.manifest.get("fingerprint")
            if old != config_fingerprint and old not in earlier:
                raise FingerprintMismatch(
                    f"{root} holds a run made with a different configuration (fingerprint {old} != "
                    f"{config_fingerprint}). Its data is kept; choose another run_name=... or output_dir=..., "
                    f"or delete that directory to start over."
                )
            self.remove_partial_writes()
        else:
            self.manifest = {"fingerprint": config_fingerprint, "completed": []}
        self.manifest["shared_key"] = shared_key  # what sibling runs match on (ampli.record.shared_stages)
        write_json(self._manifest_path, self.manifest)

    def remove_partial_writes(self) -> None:
        """Temp files and checkpoints left by a killed process: never part of a completed stage, and a
        full-weights checkpoint may be gigabytes, so a resume deletes them."""
        patterns = (".*.tmp", "*/.*.tmp", f"*/{PARTIAL_CHECKPOINT_PREFIX}*", f"{ADOPTING_PREFIX}*")
        for path in [p for pattern in patterns for p in self.root.glob(pattern)]:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    def cycle_dir(self, cycle: int) -> Path:
        return self.root / f"cycle_{cycle:03d}"

    def is_done(self, stage: str) -> bool:
        return stage in self.manifest["completed"]

    def mark_done(self, stage: str) -> None:
        self.lock.verify()
        if not self.is_done(stage):
            self.manifest["completed"].append(stage)
            write_json(self._manifest_path, self.manifest)

    def mark_undone(self, stage: str) -> None:
        """A completed stage whose result is gone (e.g. weights a service deleted): the next run computes it again."""
        self.lock.verify()
        if self.is_done(stage):
            self.manifest["completed"].remove(stage)
            write_json(self._manifest_path, self.manifest)

    def close(self) -> None:
        """Release the run lock; safe to call more than once."""
        self.lock.release()
