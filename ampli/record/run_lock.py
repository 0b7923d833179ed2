"""One writer per run directory: a lock file that holds where flock does not (NFS, Lustre).

Two processes writing one run (a sweep submitted twice, a requeued task whose old process still runs, a local run
beside a SLURM one) would interleave and overwrite its stages. POSIX locks are missing or unreliable across the
hosts of a network filesystem, so the lock is a file made with link(2), which is atomic there too: the holder's
facts (host, pid, SLURM job, start time) are written to a private claim file first, then linked to `run.lock`, so
the lock never exists half-written. A thread touches it every `heartbeat_s` seconds: its mtime is the heartbeat.

A lock is taken over, with a warning, only when its holder is provably gone:
- same host: its process is dead (or its pid now belongs to another process), or the host has rebooted;
- same SLURM job at a lower restart count: SLURM ends a job's old run before it starts the requeued one;
- another host: no heartbeat for `stale_after_s` seconds (a failed node; clocks agree to seconds under NTP).
Contenders for one stale lock race to create, exclusively, a marker named after the stale holder's unique token;
only the one that does may replace the lock (rename), so a stale lock changes hands once. A holder that finds
the lock no longer its own (it was judged stale while alive, e.g. frozen past the limit) stops before its next
stage is marked complete.
"""

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from ampli.record.config import RunLockConfig

log = logging.getLogger("ampli")

LOCK_FILE = "run.lock"
TAKEOVER_ATTEMPTS = 50  # a lock that keeps changing hands this often while we look is reported as held


class RunLockError(RuntimeError):
    """Another process writes this run directory, or took it over from this one."""


class RunLocked(RunLockError):
    def __init__(self, message: str, holder: "Holder | None" = None):
        super().__init__(message)
        self.holder = holder


class RunLockLost(RunLockError):
    pass


def this_host() -> str:
    return socket.gethostname()


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _process(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) from /proc, or None where there is no /proc entry."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])


@dataclass(frozen=True)
class Holder:
    token: str
    host: str
    pid: int
    started: str
    slurm_job: str | None = None
    slurm_restart: int = 0
    boot_id: str | None = None
    pid_start: int | None = None

    @classmethod
    def me(cls) -> "Holder":
        process = _process(os.getpid())
        return cls(
            token=uuid.uuid4().hex,
            host=this_host(),
            pid=os.getpid(),
            started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            slurm_job=os.environ.get("SLURM_JOB_ID"),
            slurm_restart=int(os.environ.get("SLURM_RESTART_COUNT") or 0),
            boot_id=_boot_id(),
            pid_start=process[1] if process else None,
        )

    def describe(self) -> str:
        slurm = f", SLURM job {self.slurm_job} (restart {self.slurm_restart})" if self.slurm_job else ""
        return f"pid {self.pid} on host {self.host}{slurm}, started {self.started}"

    def alive_here(self) -> bool:
        """Whether this holder's process still runs; only meaningful on its own host."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process: it exists
        process = _process(self.pid)
        if process is None:
            return True
        state, start = process
        return state != "Z" and (self.pid_start is None or start == self.pid_start)


def stale_reason(holder: Holder, heartbeat_age_s: float, me: Holder, cfg: RunLockConfig) -> str | None:
    """Why `holder` is gone and its lock may be taken over, or None while it may still be writing."""
    if holder.slurm_job and holder.slurm_job == me.slurm_job and holder.slurm_restart < me.slurm_restart:
        return f"it is an earlier run of this SLURM job (restart {holder.slurm_restart}), ended by SLURM's requeue"
    if holder.host == me.host:
        if holder.boot_id and me.boot_id and holder.boot_id != me.boot_id:
            return "its host has rebooted since"
        return None if holder.alive_here() else "its process is gone"
    if heartbeat_age_s > cfg.stale_after_s:
        return f"no heartbeat for {heartbeat_age_s:.0f} s (run_lock.stale_after_s={cfg.stale_after_s:g})"
    return None


def _read(path: Path) -> tuple[Holder, float] | None:
    """The holder recorded in a lock (or claim) file and the age of its heartbeat; None when the file is gone."""
    try:
        with path.open(encoding="utf-8") as f:
            stat = os.fstat(f.fileno())  # after open: fresh attributes even on NFS (close-to-open)
            text = f.read()
    except FileNotFoundError:
        return None
    try:
        holder = Holder(**json.loads(text))
    except (ValueError, TypeError):  # not ours or damaged: judged by its age alone
        holder = Holder(token=f"unreadable-{stat.st_ino}-{stat.st_mtime_ns}", host="(unreadable lock file)", pid=0,
                        started="?")
    return holder, time.time() - stat.st_mtime


def _link(source: Path, target: Path) -> bool:
    """Create `target` as another name of `source`, only if it does not exist. On NFS a lost reply makes a retried
    link answer EEXIST although it succeeded; the source's link count tells which (nobody else links our claim)."""
    before = os.stat(source).st_nlink
    try:
        os.link(source, target)
        return True
    except OSError as error:
        if os.stat(source).st_nlink > before:
            return True
        if isinstance(error, FileExistsError):
            return False
        raise


class RunLock:
    """Held from `acquire` to `release`; `verify` raises if another process has taken the lock over."""

    def __init__(self, path: Path, holder: Holder, cfg: RunLockConfig, inode: int):
        self.path = path
        self.holder = holder
        self.cfg = cfg
        self._fd: int | None = os.open(path, os.O_RDONLY)
        self._inode = inode
        self._lost: str | None = None
        if os.fstat(self._fd).st_ino != inode:
            self._lost = f"{path} was taken by another process the moment this one ({holder.describe()}) linked it"
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"run-lock {path.parent.name}", daemon=True)
        self._beat.start()

    @classmethod
    def acquire(cls, directory: Path, cfg: RunLockConfig, name: str = LOCK_FILE) -> "RunLock":
        """Take the lock file `name` of `directory`, or raise RunLocked naming its live holder (`.holder`)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        me = Holder.me()
        claim = directory / f".{name}.{me.token}"
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(me), f)
            f.flush()
            os.fsync(f.fileno())
            inode = os.fstat(f.fileno()).st_ino
        try:
            for _ in range(TAKEOVER_ATTEMPTS):
                if _link(claim, path):
                    return cls(path, me, cfg, inode)
                seen = _read(path)
                if seen is None:
                    continue  # released while we looked
                holder, age = seen
                reason = stale_reason(holder, age, me, cfg)
                if reason is None:
                    raise RunLocked(cls._held_message(directory, holder, age, cfg), holder)
                if _take_over(path, claim, holder, me, cfg):
                    log.warning("took over the run lock of %s from %s: %s", directory, holder.describe(), reason)
                    return cls(path, me, cfg, inode)
                time.sleep(0.05)  # another contender is taking it over: look again
            raise RunLocked(f"{directory}: its run lock kept changing hands while ampli tried to take it; retry")
        finally:
            claim.unlink(missing_ok=True)

    @staticmethod
    def _held_message(directory: Path, holder: Holder, age: float, cfg: RunLockConfig) -> str:
        return (
            f"{directory} is in use by {holder.describe()} (last heartbeat {age:.0f} s ago). Only one process may "
            f"write a run: wait for that one to finish or stop it, or choose another run_name=... or output_dir=.... "
            f"A holder that is gone is taken over automatically: on the same host at once, from another host after "
            f"run_lock.stale_after_s={cfg.stale_after_s:g} s without a heartbeat."
        )

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.cfg.heartbeat_s):
            try:
                os.utime(self._fd)  # our inode, whatever name it has now
                self._check()
            except OSError as error:
                log.warning("run lock %s: heartbeat failed (%s); retrying", self.path, error)
            except RunLockLost as error:
                log.error("%s", error)
                return

    def _check(self) -> None:
        if self._lost is None:
            try:
                inode = os.stat(self.path).st_ino
            except FileNotFoundError:
                inode = None
            if inode != self._inode:
                seen = _read(self.path)
                taker = seen[0].describe() if seen else "nobody (the lock file was removed)"
                self._lost = f"{self.path} is no longer held by this process ({self.holder.describe()}) but by {taker}"
        if self._lost is not None:
            raise RunLockLost(f"{self._lost}; stopping so that two processes never write one run")

    def verify(self) -> None:
        """Raise RunLockLost if another process has taken the lock over (it judged this one gone)."""
        self._check()

    def release(self) -> None:
        """Stop the heartbeat and remove the lock if it is still ours; safe to call more than once."""
        if self._fd is None:
            return
        self._stop.set()
        if self._beat is not threading.current_thread():
            self._beat.join()
        try:
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None


def _take_over(path: Path, claim: Path, stale: Holder, me: Holder, cfg: RunLockConfig) -> bool:
    """Replace the stale lock with our claim if no other contender does: the right to replace a holder is a marker
    file named after its token, created exclusively. A marker whose creator died before finishing is itself
    taken over the same way. Returns False when another contender won."""
    left_by_the_dead: list[Path] = []
    target = stale
    while True:
        marker = path.with_name(f".{path.name}.taken-{target.token}")
        if _link(claim, marker):
            break
        seen = _read(marker)
        if seen is None:
            return False  # its creator finished: the lock has a new holder
        rival, age = seen
        if stale_reason(rival, age, me, cfg) is None:
            return False
        left_by_the_dead.append(marker)
        target = rival
    try:
        current = _read(path)
        if current is None or current[0].token != stale.token:
            return False  # replaced or released meanwhile
        os.replace(claim, path)
    finally:
        marker.unlink(missing_ok=True)  # whoever wins it later finds the lock no longer stale's
    for dead in left_by_the_dead:  # only now: while the stale lock stands, they keep later contenders out
        dead.unlink(missing_ok=True)
    return True
