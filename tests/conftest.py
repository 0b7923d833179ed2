"""Shared fixtures: Hydra composition of the project's real conf/, and a micro-model config for fast loops."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from ampli.config.schema import register_configs
from ampli.inputs.corpus import RunData
from leaks import Running, left_behind, running_now

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"

register_configs()

# The smallest settings that still exercise every stage: used by the end-to-end tests.
MICRO = [
    "model=micro",
    "logger=none",
    "loop.cycles=2",
    "loop.seed_examples=16",
    "loop.prompts_per_cycle=8",
    "loop.eval_samples=1",
    "loop.eval_pool_prompts=2",
    "regime.samples_per_cycle=8",
]


def signal_sensitive_sleeper(**popen) -> subprocess.Popen:
    """A process that sleeps once it is ready, with SIGHUP back at its default (nohup ignores it): any signal but 0
    ends it, so a test can tell that looking at a process never signalled it."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGHUP, "
                                "signal.SIG_DFL); print(flush=True); time.sleep(600)"], stdout=subprocess.PIPE, **popen)
    sleeper.stdout.readline()
    return sleeper


def with_overrides(base: list[str], *extra: str) -> list[str]:
    """base with extra appended; an extra key replaces the same key in base (Hydra rejects duplicates)."""
    keys = {e.split("=", 1)[0] for e in extra}
    return [o for o in base if o.split("=", 1)[0] not in keys] + list(extra)


def find_run(runs_dir: Path, stem: str) -> Path:
    """The one run directory of `stem` (trait-regime-reinit-model-s<seed>) under runs_dir, whatever varied settings
    its name adds (ampli/record/run_identity.py): tests that launch with MICRO's overrides get names that carry them."""
    matches = [p for p in Path(runs_dir).iterdir() if p.name == stem or p.name.startswith(f"{stem}-")]
    assert len(matches) == 1, f"expected one run named {stem}[-...] under {runs_dir}, found {matches}"
    return matches[0]


def compose_config(overrides: list[str], conf: Path = CONF):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def run_data(*overrides: str) -> RunData:
    """The data files a run with these overrides reads (no model, no run directory)."""
    return RunData(OmegaConf.to_object(compose_config(list(overrides))))


RUNNING_BEFORE = pytest.StashKey[Running]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    item.stash[RUNNING_BEFORE] = running_now()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Fail the test (an error at its teardown) that left a run lock, a non-daemon thread or a child process behind
    (tests/leaks.py), once its fixtures, and those of its module when it is the module's last, are torn down."""
    result = yield
    if RUNNING_BEFORE in item.stash and (left := left_behind(item.stash[RUNNING_BEFORE])):
        pytest.fail("this test left running: " + "; ".join(left), pytrace=False)
    return result


def pytest_runtest_logfinish(nodeid, location):
    """Once a test and its fixtures are gone, collect what it dropped and freeze what is still alive (imports,
    caches, session fixtures): every run calls gc.collect() after each stage (ampli.models.sources.free_memory),
    which otherwise walks everything the session has accumulated, each time (19.7 s of a 90 s profile of
    test_loop.py and test_shared_stages.py)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def wandb_service_stopped():
    """W&B starts one service process (wandb-core) per Python process and keeps it for later runs; stop it after each
    test, so that none leaves a child process behind or hands its service to the next."""
    yield
    if "wandb" in sys.modules:
        sys.modules["wandb"].teardown()


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory) -> Path:
    """The session's model cache, also as $AMPLI_CACHE: a run or subprocess that names no model_cache builds here,
    never in the user's ~/.cache/ampli."""
    cache = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AMPLI_CACHE", str(cache))
        yield cache


@pytest.fixture
def micro_overrides(tmp_path, model_cache) -> list[str]:
    """MICRO with a per-test output dir; the micro model is built once per session and shared."""
    return [*MICRO, f"output_dir={tmp_path / 'outputs'}", f"model_cache={model_cache}"]
