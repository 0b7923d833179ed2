"""One writer per run directory: real processes on one run, stale locks taken over (dead process, silent host,
requeued SLURM job), exactly one winner among contenders, and a holder that lost its lock stops."""

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from fakes.judge_server import FakeJudgeServer, Reply, judge_overrides, score_by_text

import ampli.record.run_lock as run_lock
from ampli.config.schema import ConfigError, validate
from ampli.record.run_lock import LOCK_FILE, RunLock, RunLockConfig, RunLocked, RunLockLost
from ampli.record.store import RunStore, read_json
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, find_run, signal_sensitive_sleeper, with_overrides
from tests.test_crash_resume import results

KEY_ENV = "AMPLI_TEST_LOCK_KEY"
FAST = RunLockConfig(heartbeat_s=0.1, stale_after_s=1.0)

HOLD = """
import sys, time
from pathlib import Path
from ampli.record.run_lock import RunLock, RunLockConfig
RunLock.acquire(Path(sys.argv[1]), RunLockConfig(heartbeat_s=float(sys.argv[2]), stale_after_s=float(sys.argv[3])))
print("held", flush=True)
time.sleep(600)
"""


def hold(directory: Path, cfg: RunLockConfig = FAST, **env: str) -> subprocess.Popen:
    """Another process holding the lock of `directory` until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), str(cfg.heartbeat_s), str(cfg.stale_after_s)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    assert proc.stdout.readline().strip() == "held"
    return proc


def dead_holder(directory: Path) -> bytes:
    """The lock file a killed process left in `directory`."""
    holder = hold(directory, RunLockConfig())
    holder.kill()
    holder.wait()
    return (directory / LOCK_FILE).read_bytes()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def slurm_env(monkeypatch):
    def set_env(job: str | None, restart: int = 0) -> None:
        for name, value in (("SLURM_JOB_ID", job), ("SLURM_RESTART_COUNT", str(restart) if job else None)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
    set_env(None)
    return set_env


def test_the_lock_names_its_holder_refuses_a_second_and_is_released(tmp_path, slurm_env):
    slurm_env("4242", restart=1)
    lock = RunLock.acquire(tmp_path, FAST)
    facts = json.loads((tmp_path / LOCK_FILE).read_text())
    assert (facts["host"], facts["pid"], facts["slurm_job"], facts["slurm_restart"]) == (
        run_lock.this_host(), os.getpid(), "4242", 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", facts["started"])
    assert facts["pid_start"] == run_lock._process(os.getpid())[1]  # tells this process from a later one on its pid

    mtime = (tmp_path / LOCK_FILE).stat().st_mtime
    deadline = time.monotonic() + 30
    while (tmp_path / LOCK_FILE).stat().st_mtime == mtime and time.monotonic() < deadline:
        time.sleep(FAST.heartbeat_s)
    assert (tmp_path / LOCK_FILE).stat().st_mtime > mtime  # the heartbeat

    holder = f"pid {os.getpid()} on host {run_lock.this_host()}, SLURM job 4242 (restart 1)"
    with pytest.raises(RunLocked, match=re.escape(f"{tmp_path} is in use by {holder}")) as refused:
        RunLock.acquire(tmp_path, FAST)
    assert refused.value.holder.describe() == lock.holder.describe()  # who holds it, for the model cache's message
    lock.verify()
    lock.release()
    lock.release()
    assert leftovers(tmp_path) == []  # no lock, claim or marker left
    RunLock.acquire(tmp_path, FAST).release()


@pytest.mark.slow
def test_two_launches_on_one_run_dir_one_refused_the_other_as_a_lone_run(micro_overrides, tmp_path, monkeypatch):
    """Both start at once; the judge holds its answers until one has exited, so both are certainly alive
    together. The refused one exits with code 2 naming the holder; the other's results match a lone run's."""
    monkeypatch.setenv(KEY_ENV, "sk-lock-test")
    one_exited = threading.Event()

    def held_until_one_exited(user: str, attempt: int) -> Reply:
        one_exited.wait(timeout=300)
        return score_by_text(user, attempt)

    with FakeJudgeServer(held_until_one_exited) as server:
        overrides = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV))
        cmd = [sys.executable, "launch.py", *overrides]
        procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        deadline = time.monotonic() + 300
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.1)
        one_exited.set()
        outputs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outputs
    winner, loser = sorted(range(2), key=lambda i: procs[i].returncode)
    assert f"is in use by pid {procs[winner].pid} on host {run_lock.this_host()}" in outputs[loser][1]
    assert "ampli: error:" in outputs[loser][1] and "run base/eval" not in outputs[loser][0]

    run_dir = find_run(tmp_path / "outputs" / "runs", compose_config(overrides).run_name)  # name carries MICRO's keys
    assert not (run_dir / LOCK_FILE).exists()
    with FakeJudgeServer(score_by_text) as server:
        lone = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV), f"output_dir={tmp_path / 'lone'}")
        alone = results(Run(compose_config(lone)).run())
    assert results(read_json(run_dir / "metrics.json")) == alone


def test_a_dead_holder_on_this_host_is_taken_over(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    holder = hold(tmp_path)
    holder.kill()  # not yet reaped: a zombie, which counts as dead
    while run_lock._process(holder.pid)[0] != "Z":
        time.sleep(0.01)
    lock = RunLock.acquire(tmp_path, RunLockConfig())
    assert json.loads((tmp_path / LOCK_FILE).read_text())["token"] == lock.holder.token
    assert lock.cfg == RunLockConfig()
    lock.release()
    holder.wait()
    [warning] = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(rf"took over the run lock of {re.escape(str(tmp_path))} from pid {holder.pid} on host "
                        rf"{re.escape(run_lock.this_host())}, started \S+: its process is gone", warning)


def test_a_holder_from_before_the_host_rebooted_is_taken_over_although_its_pid_runs_again(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    before_reboot = {**json.loads(dead_holder(tmp_path)), "pid": os.getpid(), "boot_id": "an-earlier-boot"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(before_reboot))
    RunLock.acquire(tmp_path, RunLockConfig()).release()
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.endswith(f"from pid {os.getpid()} on host {run_lock.this_host()}, started "
                            f"{before_reboot['started']}: its host has rebooted since")


@pytest.mark.parametrize("content", ["{damaged", '{"owner": "another tool"}'])
def test_a_lock_file_that_cannot_be_read_is_judged_by_its_age_alone(tmp_path, caplog, content):
    caplog.set_level(logging.WARNING, logger="ampli")
    cfg = RunLockConfig(heartbeat_s=0.1, stale_after_s=2.0)
    (tmp_path / LOCK_FILE).write_text(content)
    unreadable = "pid 0 on host (unreadable lock file), started ?"
    with pytest.raises(RunLocked, match=re.escape(f"is in use by {unreadable} (last heartbeat 0 s ago)")):
        RunLock.acquire(tmp_path, cfg)
    os.utime(tmp_path / LOCK_FILE, (time.time() - 10, time.time() - 10))
    RunLock.acquire(tmp_path, cfg).release()
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.endswith(f"from {unreadable}: no heartbeat for 10 s (run_lock.stale_after_s=2)")
    assert leftovers(tmp_path) == []


def test_a_contender_on_another_host_that_died_mid_takeover_is_taken_over_once_silent(tmp_path):
    stale = json.loads(dead_holder(tmp_path))
    marker = tmp_path / f".{LOCK_FILE}.taken-{stale['token']}"
    marker.write_text(json.dumps({**stale, "token": "rival", "host": "other-node", "boot_id": None}))
    cfg = RunLockConfig(heartbeat_s=0.1, stale_after_s=2.0)
    os.utime(marker, (time.time() - 10, time.time() - 10))
    RunLock.acquire(tmp_path, cfg).release()
    assert leftovers(tmp_path) == []


def test_a_holder_on_another_host_is_taken_over_only_after_its_heartbeat_stops(tmp_path, monkeypatch, caplog):
    """The heartbeat's age is set on the lock file (its mtime) rather than waited for, so a busy machine that delays
    the holder's touches by seconds cannot turn either answer around."""
    caplog.set_level(logging.WARNING, logger="ampli")
    cfg = RunLockConfig(heartbeat_s=0.1, stale_after_s=60.0)
    lock_file = tmp_path / LOCK_FILE
    holder = hold(tmp_path, cfg)
    monkeypatch.setattr(run_lock, "this_host", lambda: "login-node")  # from here on we look from another host
    try:
        long_ago = time.time() - 10 * cfg.stale_after_s
        os.utime(lock_file, (long_ago, long_ago))  # as if the lock were old: only a new heartbeat keeps it fresh
        deadline = time.monotonic() + 120  # a hang guard, not a threshold
        while lock_file.stat().st_mtime <= long_ago + 1:
            assert time.monotonic() < deadline, "the holder never touched its lock"
            time.sleep(0.05)
        with pytest.raises(RunLocked, match=r"last heartbeat \d+ s ago.*after run_lock.stale_after_s=60 s"):
            RunLock.acquire(tmp_path, cfg)
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(RunLocked):  # dead, but another host cannot know that before the limit
        RunLock.acquire(tmp_path, cfg)
    silent_since = time.time() - cfg.stale_after_s - 5
    os.utime(lock_file, (silent_since, silent_since))  # its last heartbeat is now older than the limit
    RunLock.acquire(tmp_path, cfg).release()
    assert re.search(r"took over the run lock .* no heartbeat for 6\d s \(run_lock.stale_after_s=60\)", caplog.text)


def test_a_requeued_slurm_job_takes_over_its_earlier_run_at_once(tmp_path, slurm_env, caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    holder = hold(tmp_path, RunLockConfig(), SLURM_JOB_ID="777", SLURM_RESTART_COUNT="0")
    try:
        slurm_env("777", restart=0)  # a second process of the same job run (e.g. two in one batch script)
        with pytest.raises(RunLocked, match="SLURM job 777"):
            RunLock.acquire(tmp_path, RunLockConfig())
        slurm_env("777", restart=1)  # the job after a requeue: its old run is over, whatever the process table says
        lock = RunLock.acquire(tmp_path, RunLockConfig())
        assert "an earlier run of this SLURM job (restart 0)" in caplog.text
        lock.release()
    finally:
        holder.kill()
        holder.wait()


def test_a_holder_whose_lock_was_taken_over_stops_before_marking_a_stage(tmp_path, slurm_env):
    slurm_env("5", restart=0)
    store = RunStore(tmp_path / "run", "fingerprint", FAST)
    store.mark_done("base/judge")
    slurm_env("5", restart=1)
    taker = RunLock.acquire(tmp_path / "run", FAST)
    with pytest.raises(RunLockLost, match=rf"no longer held by this process .* but by pid {os.getpid()}.*restart 1"):
        store.mark_done("base/eval")
    with pytest.raises(RunLockLost):  # nor unmarking one
        store.mark_undone("base/judge")
    assert read_json(tmp_path / "run" / "manifest.json")["completed"] == ["base/judge"]
    store.close()
    assert (tmp_path / "run" / LOCK_FILE).exists()  # the loser leaves the new holder's lock alone
    taker.release()


def test_a_holder_whose_lock_file_was_deleted_stops_and_says_so(tmp_path):
    lock = RunLock.acquire(tmp_path, FAST)
    (tmp_path / LOCK_FILE).unlink()
    with pytest.raises(RunLockLost, match=rf"^{re.escape(str(tmp_path / LOCK_FILE))} is no longer held by this "
                                          rf"process \(pid {os.getpid()} on host .*\) but by nobody \(the lock file "
                                          r"was removed\); stopping so that two processes never write one run$"):
        lock.verify()
    lock.release()


def test_release_waits_for_a_heartbeat_under_way(tmp_path, monkeypatch):
    """Release closes the lock's descriptor: a heartbeat still running could then touch whatever file reuses it."""
    beating = threading.Event()
    check = RunLock._check

    def slow_check(self) -> None:
        if threading.current_thread() is self._beat:
            beating.set()
            time.sleep(0.5)
        check(self)

    monkeypatch.setattr(RunLock, "_check", slow_check)
    lock = RunLock.acquire(tmp_path, FAST)
    assert beating.wait(10)
    lock.release()
    assert not lock._beat.is_alive()


def test_a_link_retried_over_nfs_that_answers_it_exists_although_it_was_made_holds_the_lock(tmp_path, monkeypatch):
    """A lost reply makes NFS retry the link, and the retry says the name exists: it is ours all the same."""
    link = os.link

    def link_with_lost_reply(source, target):
        link(source, target)
        raise FileExistsError(17, "File exists")

    monkeypatch.setattr(run_lock.os, "link", link_with_lost_reply)
    lock = RunLock.acquire(tmp_path, FAST)
    try:
        assert json.loads((tmp_path / LOCK_FILE).read_text())["token"] == lock.holder.token
        lock.verify()
    finally:
        lock.release()


def test_a_lock_replaced_between_linking_and_opening_it_is_lost_at_once(tmp_path):
    (tmp_path / LOCK_FILE).write_text("{}")
    linked = (tmp_path / LOCK_FILE).stat().st_ino + 1  # the inode our claim had: another file is there now
    lock = RunLock(tmp_path / LOCK_FILE, run_lock.Holder.me(), FAST, linked)
    try:
        with pytest.raises(RunLockLost, match=r"was taken by another process the moment this one \(pid \d+ on host "
                                              r".*\) linked it; stopping so that two processes never write one run$"):
            lock.verify()
    finally:
        lock.release()


def test_a_holder_without_proc_or_a_slurm_restart_count_is_described_as_such(monkeypatch):
    """SLURM sets SLURM_RESTART_COUNT only once a job was requeued: a first run counts as restart 0."""
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    monkeypatch.setattr(run_lock, "_process", lambda pid: None)
    me = run_lock.Holder.me()
    assert (me.slurm_job, me.slurm_restart, me.pid_start) == ("77", 0, None)


def test_a_process_that_ends_without_releasing_its_lock_exits_and_the_next_takes_the_lock_at_once(tmp_path):
    """The heartbeat thread must not keep a process alive after its work ended on an error before release()."""
    program = ("import sys; from pathlib import Path; from ampli.record.run_lock import RunLock, RunLockConfig; "
               "RunLock.acquire(Path(sys.argv[1]), RunLockConfig(heartbeat_s=0.1, stale_after_s=1.0))")
    ended = subprocess.run([sys.executable, "-c", program, str(tmp_path)], cwd=ROOT, timeout=60, capture_output=True,
                           text=True)
    assert ended.returncode == 0, ended.stderr
    RunLock.acquire(tmp_path, FAST).release()  # its holder is gone: taken over at once


def test_a_lock_released_while_a_contender_looks_is_taken_on_its_next_try(tmp_path, monkeypatch):
    (tmp_path / LOCK_FILE).write_text("{}")
    read = run_lock._read

    def released_while_looking(path: Path):
        path.unlink()
        return read(path)

    monkeypatch.setattr(run_lock, "_read", released_while_looking)
    RunLock.acquire(tmp_path, FAST).release()


def test_a_stale_lock_another_contender_is_taking_over_is_looked_at_again_and_one_that_never_settles_refused(
        tmp_path, monkeypatch):
    dead_holder(tmp_path)
    take_over = run_lock._take_over
    lost = []

    def lost_once(*args) -> bool:  # another contender holds the takeover marker the first time
        if not lost:
            lost.append(True)
            return False
        return take_over(*args)

    monkeypatch.setattr(run_lock, "_take_over", lost_once)
    RunLock.acquire(tmp_path, FAST).release()
    assert lost == [True]

    dead_holder(tmp_path)
    monkeypatch.setattr(run_lock, "_take_over", lambda *args: False)
    monkeypatch.setattr(run_lock, "TAKEOVER_ATTEMPTS", 3)
    with pytest.raises(RunLocked, match=rf"^{re.escape(str(tmp_path))}: its run lock kept changing hands while ampli "
                                        r"tried to take it; retry$"):
        RunLock.acquire(tmp_path, FAST)


def test_the_heartbeat_warns_of_a_failed_touch_and_logs_the_loss_of_its_lock(tmp_path, slurm_env, monkeypatch,
                                                                             caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    utime = os.utime
    failed = []

    def fails_once(fd) -> None:
        if not failed:
            failed.append(fd)
            raise OSError(5, "Input/output error")
        utime(fd)

    monkeypatch.setattr(run_lock.os, "utime", fails_once)
    slurm_env("5", restart=0)
    lock = RunLock.acquire(tmp_path, FAST)
    slurm_env("5", restart=1)
    taker = RunLock.acquire(tmp_path, FAST)  # a requeued job takes over at once
    deadline = time.monotonic() + 30
    while len(caplog.records) < 3 and time.monotonic() < deadline:
        time.sleep(FAST.heartbeat_s)
    path = re.escape(str(tmp_path / LOCK_FILE))
    messages = [r.getMessage() for r in caplog.records]  # the touch that failed may be either holder's
    [warning] = [m for m in messages if m.startswith("run lock ")]
    [lost] = [m for m in messages if " is no longer held " in m]
    assert re.fullmatch(rf"run lock {path}: heartbeat failed \(\[Errno 5\] Input/output error\); retrying", warning)
    assert re.fullmatch(rf"{path} is no longer held by this process \(pid .*restart 0\), started \S+\) but by pid "
                        r".*restart 1\), started \S+; stopping so that two processes never write one run", lost)
    lock.release()
    taker.release()


def test_a_holder_is_known_by_its_start_time_whatever_its_name_holds(tmp_path):
    """/proc/<pid>/stat puts the process name in parentheses, and a name may hold ")" itself."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys, time; print(flush=True); sys.stdin.readline(); "
                                "open('/proc/self/comm', 'w').write('vllm ) 1 2 3'); print(flush=True); "
                                "time.sleep(600)"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        sleeper.stdout.readline()
        state, started = run_lock._process(sleeper.pid)
        sleeper.stdin.write("\n")
        sleeper.stdin.flush()
        sleeper.stdout.readline()
        assert Path(f"/proc/{sleeper.pid}/comm").read_text().strip() == "vllm ) 1 2 3"
        renamed_state, renamed_started = run_lock._process(sleeper.pid)
        assert (renamed_started, state in "SR", renamed_state in "SR") == (started, True, True)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_contenders_for_one_stale_lock_exactly_one_wins(tmp_path):
    """8 threads race for the lock of a dead process, 100 rounds: one takes it over, the others see it held.
    (A takeover that only checks the lock before replacing it lets two win in about one round in ten.)"""
    stale = dead_holder(tmp_path)
    for _ in range(100):
        (tmp_path / LOCK_FILE).write_bytes(stale)
        start = threading.Barrier(8)
        outcomes: list[object] = []

        def contend():
            start.wait()
            try:
                outcomes.append(RunLock.acquire(tmp_path, RunLockConfig()))
            except RunLocked as refused:
                outcomes.append(refused)

        threads = [threading.Thread(target=contend) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [o for o in outcomes if isinstance(o, RunLock)]
        assert len(winners) == 1, outcomes
        winners[0].verify()
        winners[0].release()
        assert leftovers(tmp_path) == []


def test_a_contender_that_died_mid_takeover_is_itself_taken_over(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    stale = json.loads(dead_holder(tmp_path / "run"))
    (tmp_path / "run" / f".{LOCK_FILE}.taken-{stale['token']}").write_bytes(dead_holder(tmp_path / "other"))
    RunLock.acquire(tmp_path / "run", RunLockConfig()).release()
    assert f"from pid {stale['pid']}" in caplog.text
    assert leftovers(tmp_path / "run") == []


def test_contending_processes_for_a_stale_lock_exactly_one_wins(tmp_path):
    """Six processes, each ready before any starts, try at once; the winner holds on until the losers have given up,
    so that no slow starter on a loaded machine can come after the winner's release and win a second time."""
    dead_holder(tmp_path)
    signals = tmp_path.parent / f"{tmp_path.name}.signals"
    signals.mkdir()
    script = f"""
import os, sys, time
from pathlib import Path
from ampli.record.run_lock import RunLock, RunLockConfig, RunLocked
signals = Path({str(signals)!r})
(signals / f"ready-{{os.getpid()}}").touch()
while not (signals / "go").exists():
    time.sleep(0.001)
try:
    RunLock.acquire(Path({str(tmp_path)!r}), RunLockConfig())
except RunLocked:
    sys.exit(2)
while not (signals / "done").exists():
    time.sleep(0.01)
"""
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT) for _ in range(6)]
    try:
        deadline = time.monotonic() + 120  # a hang guard only
        while len(list(signals.glob("ready-*"))) < len(procs) and time.monotonic() < deadline:
            time.sleep(0.05)
        (signals / "go").touch()
        while sum(p.poll() is not None for p in procs) < len(procs) - 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        (signals / "done").touch()
        codes = sorted(p.wait(timeout=60) for p in procs)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert codes == [0] + [2] * 5


def test_lock_timings_are_checked(micro_overrides):
    cfg = compose_config(with_overrides(micro_overrides, "run_lock.heartbeat_s=60", "run_lock.stale_after_s=90"))
    with pytest.raises(ConfigError, match=r"run_lock.heartbeat_s=60.0, run_lock.stale_after_s=90.0 is not valid"):
        validate(OmegaConf.to_object(cfg))


def test_a_holder_is_alive_while_its_process_runs_and_looking_never_signals_it(monkeypatch):
    sleeper = signal_sensitive_sleeper()
    try:
        started = run_lock._process(sleeper.pid)[1]
        holder = run_lock.Holder(token="t", host=run_lock.this_host(), pid=sleeper.pid, started="now",
                                 pid_start=started)
        assert holder.alive_here()
        assert replace(holder, pid_start=None).alive_here()  # written where /proc gave no start time
        assert not replace(holder, pid_start=started + 1).alive_here()  # its pid now belongs to a later process
        monkeypatch.setattr(run_lock, "_process", lambda pid: None)  # no /proc: signal 0 is all there is to ask
        assert holder.alive_here()
        monkeypatch.undo()
        time.sleep(0.3)
        assert sleeper.poll() is None  # signal 0 only: the holder itself was never touched
        sleeper.kill()
        while run_lock._process(sleeper.pid)[0] != "Z":  # dead, not yet reaped
            time.sleep(0.01)
        assert not holder.alive_here()
        sleeper.wait()
        assert not holder.alive_here()
    finally:
        sleeper.kill()
        sleeper.wait()
