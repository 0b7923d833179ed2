"""Which ampli produced a run: its version and, from a git checkout, the commit (with a mark for local edits), so a
report can say what code the numbers came from."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from ampli import __version__

SOURCE_DIR = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=SOURCE_DIR, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # no git, or a hung filesystem: the version alone still says much
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def provenance() -> dict[str, str | bool | None]:
    """{"version", "commit", "dirty"}; commit and dirty are None outside a git checkout (an installed wheel)."""
    commit = _git("rev-parse", "HEAD")
    dirty = None if commit is None else bool(_git("status", "--porcelain", "--untracked-files=no", "--", "."))
    return {"version": __version__, "commit": commit, "dirty": dirty}
