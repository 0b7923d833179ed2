"""Scores already paid for, shared by every job of a sweep, correct with many writers on many hosts over NFS.

All jobs of a sweep judge into one directory (${output_dir}/judge_cache), often on NFS or Lustre. A shared SQLite
database is wrong there: WAL mode needs memory shared between the processes (one host only), and the other modes
rest on POSIX locks that network filesystems do not reliably provide across hosts; the failure is lock errors or a
corrupt file, and this file is the record of money spent. So nothing is written by two processes: each process
appends to a file of its own (scores-<host>-<pid>-<token>.jsonl), one whole line per score, and every reader merges
all the files. A single-writer file needs no lock. A line a crash cut short, or one not yet flushed to the file
server, is an incomplete (or NUL-filled) last line: readers stop before it and read it again once it is whole.
Each batch ends with an fsync, which is also what makes the new lines visible to other hosts (close-to-open
consistency), and each lookup rereads only the bytes the files gained since the last one.

Guarantees: a run never pays twice for a score it holds (its own process's, its earlier processes', any other
run's that reached the disk before the batch started), and a batch asks each distinct item once. Two runs asking
for the same item at the same moment may both pay for it. Cost: each process keeps every score of the directory
in memory, about 300 bytes per score (200,000 scores: 21 MB of files, ~1 s to read).
"""

import hashlib
import json
import logging
import os
import re
import uuid
from pathlib import Path

from ampli.judges.scoring import Score
from ampli.record.store import disk_full_names

log = logging.getLogger("ampli")

SEGMENT_GLOB = "scores-*.jsonl"


def cache_key(*parts: str) -> str:
    """A digest of everything that determines a score (judge, rubric, prompt, response)."""
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _writer_name() -> str:
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", os.uname().nodename)
    return f"scores-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"


class ScoreCache:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._scores: dict[str, Score] = {}
        self._read_to: dict[str, int] = {}  # file name -> bytes of whole lines already indexed
        self._own = directory / _writer_name()
        self._fd: int | None = None  # opened on the first score, so a process that only reads leaves no file

    def lookup(self, keys: list[str]) -> list[Score | None]:
        """Scores for keys, after reading what every writer added since the last lookup."""
        for path in sorted(self.directory.glob(SEGMENT_GLOB)):
            if path != self._own:
                self._read_new(path)
        return [self._scores.get(key) for key in keys]

    def _read_new(self, path: Path) -> None:
        start = self._read_to.get(path.name, 0)
        try:
            with path.open("rb") as f:  # reopened each time: NFS revalidates a file's size and data on open
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            return
        consumed = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n") or b"\0" in line:
                break  # not yet whole on this host: read it again next time
            consumed += len(line)
            try:
                row = json.loads(line)
                self._scores.setdefault(row["key"], Score(row["value"], row["reason"]))
            except (ValueError, KeyError, TypeError):
                log.warning("judge cache %s: skipping an unreadable line at byte %d", path,
                            start + consumed - len(line))
        self._read_to[path.name] = start + consumed

    def put(self, key: str, score: Score) -> None:
        line = (json.dumps({"key": key, "value": score.value, "reason": score.reason}) + "\n").encode()
        with disk_full_names(self._own, "judge cache"):
            if self._fd is None:
                self._fd = os.open(self._own, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            view = memoryview(line)
            while view:  # os.write may write less than asked
                view = view[os.write(self._fd, view):]
        self._scores[key] = score

    def sync(self) -> None:
        """Make the scores written so far durable and visible on other hosts."""
        if self._fd is not None:
            with disk_full_names(self._own, "judge cache"):
                os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None
