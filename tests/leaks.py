"""What a test may not leave running: a run lock's heartbeat thread (a lock still held), a non-daemon thread (it
would keep the interpreter alive) or a child process. conftest.py compares what runs after a test's teardown with
what ran before its setup, so each leak fails the one test that made it, and a later test that patches the file
system or captures warnings never sees another test's threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil

# ampli/record/run_lock.py names each heartbeat thread "run-lock <run directory>".
RUN_LOCK_THREAD = "run-lock "
# How long a thread or process that was told to stop may take to end before it counts as left behind: a hang guard
# only, never reached by a test that cleans up.
GRACE_S = 10.0


@dataclass(frozen=True)
class Running:
    threads: frozenset[threading.Thread]
    children: frozenset[psutil.Process]  # hashed by pid and start time, so a reused pid is another process


def _watched(thread: threading.Thread) -> bool:
    return thread is not threading.main_thread() and (thread.name.startswith(RUN_LOCK_THREAD) or not thread.daemon)


def still_running(process: psutil.Process) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def running_now() -> Running:
    threads = frozenset(t for t in threading.enumerate() if _watched(t))
    children = frozenset(p for p in psutil.Process().children(recursive=True) if still_running(p))
    return Running(threads, children)


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid}: {' '.join(process.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {process.pid}"


def left_behind(before: Running) -> list[str]:
    """What runs now and did not before, after GRACE_S for whatever is still ending. What is left is not stopped here
    (a later test may rely on it, as W&B's runs relied on its service process): it joins the next test's "before", so
    that one leak fails one test, not every later one."""
    now = running_now()
    threads, children = now.threads - before.threads, now.children - before.children
    if not threads and not children:
        return []
    for thread in threads:
        thread.join(GRACE_S)
    _, alive = psutil.wait_procs(list(children), timeout=GRACE_S)
    left = [f"thread {t.name!r} ({'run-lock heartbeat' if t.name.startswith(RUN_LOCK_THREAD) else 'non-daemon'})"
            for t in threads if t.is_alive()]
    return left + [f"child process {_describe(p)}" for p in alive if still_running(p)]
