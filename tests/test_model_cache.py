"""The model cache: one per user (or $AMPLI_CACHE), shared by every output dir, built once even when several
processes start together on a filesystem without flock, and taken over from a builder that died."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ampli.models import tiny_model
from ampli.record.model_cache import READY_FILE, build_once, default_cache_dir
from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides

BUILDERS = 4

# One process that builds (or waits for) a model directory with flock taken away, as on NFS without a lock manager.
BUILDER = """
import errno, fcntl, sys, time
from pathlib import Path
def no_locks(*args, **kwargs):
    raise OSError(errno.ENOLCK, "No locks available")
fcntl.flock = fcntl.lockf = no_locks
from ampli.record.model_cache import build_once
final, builds, hold_s = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
def build(tmp):
    with open(builds, "a") as f:
        f.write("built\\n")
    (tmp / "weights.bin").write_bytes(b"w" * 1000)
    print("building", flush=True)
    time.sleep(hold_s)
    (tmp / "config.json").write_text("{}")
print("ready", flush=True)
while not (builds.parent / "go").exists():
    time.sleep(0.001)
build_once(final, build, poll_s=0.05)
print(len((final / "weights.bin").read_bytes()), flush=True)
"""


def builder(final: Path, builds: Path, hold_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BUILDER, str(final), str(builds), str(hold_s)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AMPLI_CACHE": "/shared/ampli", "XDG_CACHE_HOME": "/xdg"}, Path("/shared/ampli")),
        ({"XDG_CACHE_HOME": "/xdg"}, Path("/xdg/ampli")),
        ({"XDG_CACHE_HOME": "relative/xdg"}, Path.home() / ".cache" / "ampli"),  # the XDG spec ignores relative ones
        ({}, Path.home() / ".cache" / "ampli"),
    ],
)
def test_the_default_cache_is_ampli_cache_then_xdg_then_home(env, expected):
    assert default_cache_dir(env) == expected


def test_the_config_default_is_the_user_cache_and_model_cache_still_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("AMPLI_CACHE", str(tmp_path / "shared"))
    assert compose_config(["output_dir=/runs/a"]).model_cache == str(tmp_path / "shared")
    assert compose_config(["model_cache=/explicit"]).model_cache == "/explicit"


def test_a_second_output_dir_reuses_the_cached_model(micro_overrides, monkeypatch, tmp_path):
    cache = tmp_path / "user-cache"
    monkeypatch.setenv("AMPLI_CACHE", str(cache))
    builds = []
    real_build = tiny_model.build
    monkeypatch.setattr(tiny_model, "build", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    base = [o for o in micro_overrides if not o.startswith(("model_cache=", "output_dir="))]
    for name in ("first", "second"):
        out = tmp_path / name
        Run(compose_config(with_overrides(base, f"output_dir={out}", "loop.cycles=1"))).run()
        assert read_json(next((out / "runs").iterdir()) / "metrics.json")["status"] == "completed"
        assert not (out / "models").exists()  # nothing built inside the run outputs
    assert len(builds) == 1  # the second output dir loaded the first one's model
    assert [p.name.split("-")[0] for p in cache.iterdir()] == ["micro"]


def test_processes_starting_together_without_flock_build_once_and_all_load_it(tmp_path):
    final, builds = tmp_path / "cache" / "micro-abc", tmp_path / "builds.txt"
    procs = [builder(final, builds, hold_s=1.0) for _ in range(BUILDERS)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready"] * BUILDERS
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * BUILDERS, [err[-2000:] for _, err in outputs]
    assert builds.read_text().splitlines() == ["built"]
    assert [out.split()[-1] for out, _ in outputs] == ["1000"] * BUILDERS  # each loaded the one complete copy
    assert sorted(p.name for p in final.parent.iterdir()) == ["micro-abc"]  # no lock, claim or temp dir left


def test_a_builder_killed_mid_build_is_taken_over_and_its_partial_copy_removed(tmp_path):
    final, builds = tmp_path / "cache" / "micro-abc", tmp_path / "builds.txt"
    (tmp_path / "go").touch()
    killed = builder(final, builds, hold_s=600)
    assert killed.stdout.readline().strip() == "ready"
    assert killed.stdout.readline().strip() == "building"  # holds the lock, its copy half-written
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert not (final / READY_FILE).exists() and list(final.parent.glob(".micro-abc.partial-*"))

    build_once(final, lambda tmp: (tmp / READY_FILE).write_text("{}"), poll_s=0.05)
    assert (final / READY_FILE).exists()
    assert sorted(p.name for p in final.parent.iterdir()) == ["micro-abc"]
