"""Scores already paid for, so a resumed or repeated run makes no duplicate judge calls."""

import hashlib
import json
import sqlite3
from pathlib import Path

from ampli.judges.scoring import Score

CACHE_FILE = "judge_cache.sqlite"


def cache_key(*parts: str) -> str:
    """A digest of everything that determines a score (judge, rubric, prompt, response)."""
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


class ScoreCache:
    """SQLite in WAL mode with one commit per score: a crash loses only the requests in flight, never the file,
    and several processes may share one cache directory."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # No fsync per commit: still consistent after a process crash; only an OS crash may lose the last scores.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value REAL, reason TEXT)")
        self._db.commit()

    def get(self, key: str) -> Score | None:
        row = self._db.execute("SELECT value, reason FROM scores WHERE key = ?", (key,)).fetchone()
        return None if row is None else Score(row[0], row[1])

    def put(self, key: str, score: Score) -> None:
        self._db.execute("INSERT OR REPLACE INTO scores VALUES (?, ?, ?)", (key, score.value, score.reason))
        self._db.commit()

    def close(self) -> None:
        self._db.close()
