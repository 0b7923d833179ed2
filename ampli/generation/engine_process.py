"""A child process that answers one JSON line per request, with a deadline on every answer, in a process group of
its own that stop() empties, and the wait for the GPU memory it held.

Why a group: vLLM starts engine-core and GPU worker processes of its own. When the top process exits, or is
killed, they can live on, still holding GPU memory, and the trainer that starts next runs out of it. They inherit
the group of the process ampli starts (start_new_session), so one signal to the group reaches every one of them,
also those whose parent is already gone. If ampli itself dies, the engine sees its stdin close and exits.
"""

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

POLL_S = 0.1
PROC = Path("/proc")  # where Linux lists its processes
KILL_WAIT_S = 10.0  # after SIGKILL the kernel frees a process at once; this only covers a slow file server


class EngineError(RuntimeError):
    """The engine process failed, hung or could not be stopped; the message says which and what to change."""


def group_members(pgid: int) -> list[int]:
    """The processes of group `pgid` that are still running (zombies have exited and hold no memory)."""
    if not PROC.is_dir():  # not Linux (vLLM runs only there): ask the kernel whether anything is left
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        state, _ppid, group = stat[stat.rindex(")") + 2:].split()[:3]  # the name before ")" may hold spaces
        if int(group) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


class LineProcess:
    """`argv` started in a new session (its own process group); ask() writes a request and waits for the reply."""

    def __init__(self, argv: list[str]):
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.pgid = self.process.pid
        self._replies: queue.Queue[str | None] = queue.Queue()
        # readline() cannot time out; a thread reads and the caller waits on the queue with a deadline.
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def ask(self, message: dict, timeout_s: float, deadline_name: str) -> dict | None:
        """The reply to `message`; None when the process exited without one. A reply later than timeout_s raises
        EngineError naming `deadline_name` (the setting to raise), after stopping the whole group."""
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:
            return None  # it already exited: its error is on stderr
        try:
            line = self._replies.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            raise EngineError(f"the vLLM process gave no answer within {deadline_name}={timeout_s:g} s and was "
                              f"stopped; raise {deadline_name} if the model needs longer") from None
        return json.loads(line) if line is not None else None

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self, goodbye: dict, wait_s: float) -> None:
        """Ask the process to exit and wait up to wait_s; then SIGTERM the group, wait up to wait_s again, and
        SIGKILL what is left. Raises EngineError if a process of the group outlives SIGKILL."""
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps(goodbye) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=wait_s)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self._signal_group(signal.SIGTERM, wait_s):
            self.kill()

    def kill(self) -> None:
        if self._signal_group(signal.SIGKILL, KILL_WAIT_S):
            raise EngineError(f"processes {group_members(self.pgid)} of the vLLM engine (process group {self.pgid}) "
                              f"are still running after SIGKILL; they may hold GPU memory")

    def _signal_group(self, signum: int, wait_s: float) -> bool:
        """Send signum to every process of the group still running; True if some still run after wait_s."""
        if not group_members(self.pgid):
            self.process.poll()  # reap the top process
            return False
        try:
            os.killpg(self.pgid, signum)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while True:
            self.process.poll()  # the top process is our child: reap it, or it stays a zombie in the group
            if not group_members(self.pgid):
                return False
            if time.monotonic() > deadline:
                return True
            time.sleep(POLL_S)
