"""The judge cache with many writers: 8 processes at once without SQLite, shared memory or POSIX locks lose no
score; lines not yet whole are read later; a batch pays once per distinct item; a sweep's runs share scores."""

import errno
import json
import logging
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from fakes.judge_server import FakeJudgeServer, judge_overrides, score_by_text

from ampli.judges import build_judge
from ampli.judges.base import JudgeItem
from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.scoring import Score
from ampli.record.store import DiskFullError, read_json
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides
from tests.test_judge_openai import TRAIT

KEY_ENV = "AMPLI_TEST_CACHE_KEY"
WRITERS = 8
SCORES = 1000

# One writer process: everything a shared-database design would need is taken away first.
WRITER = """
import errno, fcntl, sys, time
for name in ("sqlite3", "_sqlite3", "mmap"):  # no SQLite, no memory shared between processes
    sys.modules[name] = None
def no_locks(*args, **kwargs):  # as on an NFS mount without a working lock manager
    raise OSError(errno.ENOLCK, "No locks available")
fcntl.flock = fcntl.lockf = no_locks
from pathlib import Path
from ampli.judges.cache import ScoreCache
from ampli.judges.scoring import Score
directory, me, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cache = ScoreCache(directory)
print("ready", flush=True)
while not (directory.parent / "go").exists():  # all start writing together
    time.sleep(0.001)
for i in range(n):
    cache.put(f"own-{me}-{i}", Score(float((me + i) % 101), None))
    cache.put(f"shared-{i}", Score(float(i % 101), "low_number_mass" if i % 7 == 0 else None))
    if i % 50 == 0:  # read what the others wrote so far, mid-write
        cache.lookup([f"own-{(me + 1) % 8}-{j}" for j in range(n)])
        cache.sync()
cache.close()
print(sum(score is not None for score in cache.lookup([f"own-{w}-{i}" for w in range(8) for i in range(n)])))
"""


def test_eight_processes_writing_one_cache_at_once_lose_nothing_without_locks_or_shared_memory(tmp_path):
    directory = tmp_path / "judge_cache"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(w), str(SCORES)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(WRITERS)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready"] * WRITERS
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * WRITERS, [err[-2000:] for _, err in outputs]
    assert all(int(out) >= SCORES for out, _ in outputs)  # each saw at least its own, most saw all

    fresh = ScoreCache(directory)
    own = fresh.lookup([f"own-{w}-{i}" for w in range(WRITERS) for i in range(SCORES)])
    assert own == [Score(float((w + i) % 101), None) for w in range(WRITERS) for i in range(SCORES)]
    shared = fresh.lookup([f"shared-{i}" for i in range(SCORES)])
    assert shared == [Score(float(i % 101), "low_number_mass" if i % 7 == 0 else None) for i in range(SCORES)]
    files = sorted(directory.iterdir())
    assert len(files) == WRITERS  # one file per writer, none written by two
    assert sum(len(f.read_text().splitlines()) for f in files) == WRITERS * 2 * SCORES


def test_a_line_not_yet_whole_is_read_once_it_is_and_a_damaged_one_skipped(tmp_path, caplog):
    other = tmp_path / "scores-node7-123-abcd1234.jsonl"
    line = lambda key, value: json.dumps({"key": key, "value": value, "reason": None}) + "\n"  # noqa: E731
    whole = line("a", 42.0)
    other.write_text(whole[:10])  # cut short (a crash, or not yet flushed to the file server)
    cache = ScoreCache(tmp_path)
    assert cache.lookup(["a"]) == [None]
    other.write_text(whole[:10] + "\0" * (len(whole) - 11) + "\n")  # NFS: the size grew before the data did
    assert cache.lookup(["a"]) == [None]
    other.write_text(whole + "{not json\n" + line("b", 7.0) + line("c", 1.0)[:5])
    caplog.set_level(logging.WARNING, logger="ampli")
    assert cache.lookup(["a", "b", "c"]) == [Score(42.0, None), Score(7.0, None), None]
    assert [r.getMessage() for r in caplog.records] == [
        f"judge cache {other}: skipping an unreadable line at byte {len(whole)}"]
    with other.open("a") as f:  # the cut line completed: only the bytes after the last whole line are read again
        f.write(line("c", 1.0)[5:])
    assert cache.lookup(["c"]) == [Score(1.0, None)]
    assert len(caplog.records) == 1  # the damaged line was read once


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-cache-test")
    with FakeJudgeServer(score_by_text) as fake:
        yield fake


def judge_config(server: FakeJudgeServer, **overrides) -> JudgeConfig:
    return replace(JudgeConfig(name="fake", backend="openai", model="fake-judge", base_url=f"{server.url}/v1",
                               api_key_env=KEY_ENV, input_cost_per_mtok=1.0, output_cost_per_mtok=1.0), **overrides)


@pytest.mark.parametrize("cache", [True, False])
def test_a_batch_asks_each_distinct_item_once(server, tmp_path, cache):
    items = [JudgeItem("q", "same answer"), JudgeItem("q", "other"), JudgeItem("q", "same answer")] * 3
    judge = build_judge(judge_config(server, cache=cache), tmp_path)
    judgments = judge.judge(TRAIT, items)
    judge.close()
    assert server.requests == judge.usage.requests == 2 * 2  # two distinct items, two rubrics each
    assert judgments[0] == judgments[2] == judgments[-1] and judgments[0] != judgments[1]


def test_a_full_disk_while_caching_names_the_cache_file(server, tmp_path, monkeypatch):
    def no_space(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    judge = build_judge(judge_config(server), tmp_path)
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(DiskFullError, match=rf"disk full while saving judge cache {tmp_path}/scores-.*\.jsonl"):
        judge.judge(TRAIT, [JudgeItem("q", "a")])
    monkeypatch.undo()
    judge.close()


def test_a_full_disk_at_the_end_of_a_batch_names_the_cache_file_and_keeps_the_scores_written(tmp_path, monkeypatch):
    """The batch's fsync is where a full disk on a file server shows up (writes were only buffered)."""
    cache = ScoreCache(tmp_path)
    cache.put("k", Score(42.0, None))

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(DiskFullError, match=rf"^disk full while saving judge cache {tmp_path}/scores-[^ ]*\.jsonl \("):
        cache.sync()
    monkeypatch.undo()
    cache.close()
    assert ScoreCache(tmp_path).lookup(["k"]) == [Score(42.0, None)]


def test_the_runs_of_a_sweep_reuse_each_others_scores(micro_overrides, server, tmp_path):
    """Two runs that differ in their seed set's size score the same base model answers and the seed rows they share:
    the second run computes those stages (it is not the first run's twin, which would adopt them, see
    test_shared_stages.py) but pays only for what is new to the cache."""
    overrides = with_overrides(micro_overrides, *judge_overrides(server, KEY_ENV), "loop.cycles=1")
    Run(compose_config(overrides)).run()
    paid_by_first = server.requests
    second = Run(compose_config(with_overrides(overrides, "loop.seed_examples=24", "run_name=more-seeds"))).run()
    run_dir = tmp_path / "outputs" / "runs" / second["run_name"]
    usage = {f"{p.parent.name}/{step}": u for p in sorted(run_dir.glob("*/stats.json"))
             for step, u in read_json(p)["judge_usage"].items()}
    assert usage["base/eval"]["requests"] == 0 and usage["base/eval"]["cache_hits"] > 0
    seeds = usage["cycle_000/judge"]  # the first 16 seed rows were judged by the first run, 8 are new
    assert seeds["cache_hits"] == 16 * 2 and seeds["requests"] == 8 * 2  # two rubrics an item
    assert server.requests == paid_by_first + sum(u["requests"] for u in usage.values())
    assert server.asked_more_than_once() == []
