"""Tracking: real wandb in offline mode, read back from the .wandb transaction log it writes."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from ampli.record.tracking import (
    wandb_location,
    Tracker,
    WandbTracker,
    flatten,
    has_wandb_api_key,
    is_secret_key,
    resolve_mode,
    scrub_secrets,
    wandb_run_id,
)
from ampli.record.config import LOGGER_MODES, LoggerConfig

# The .wandb file is a LevelDB-style log: a 7-byte file header, then 32 KiB blocks of chunks, each
# [crc32c:4][length:2][type:1][payload]; a record is one FULL chunk or FIRST, MIDDLE..., LAST chunks.
_BLOCK, _HEADER = 32768, 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def _wandb_records(path: Path) -> list[Any]:
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    records, pending, pos = [], b"", _HEADER
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # block trailer padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        if pos + _HEADER + length > len(data):  # a chunk still being written
            break
        chunk, pos = data[pos + _HEADER : pos + _HEADER + length], pos + _HEADER + length
        if kind == 0:  # zeros: the rest of the block is padding
            pos += -pos % _BLOCK
            continue
        pending = chunk if kind in (_FULL, _FIRST) else pending + chunk
        if kind in (_FULL, _LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def _finished_records(path: Path, timeout_s: float = 10.0) -> list[Any]:
    """Records of a finished run: wandb-core may still be flushing the log when run.finish() returns."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = _wandb_records(path)
        if records and records[-1].WhichOneof("record_type") == "exit":
            return records
        assert time.monotonic() < deadline, f"{path} has no exit record after {timeout_s} s"
        time.sleep(0.05)


def _items(items) -> dict[str, Any]:
    return {item.key or ".".join(item.nested_key): json.loads(item.value_json) for item in items}


def _read_run(wandb_file: Path) -> dict[str, Any]:
    """The run record, defined metrics, history rows and final summary of one offline run."""
    records = _finished_records(wandb_file)
    kinds = [r.WhichOneof("record_type") for r in records]
    run = next(r.run for r, k in zip(records, kinds) if k == "run")
    summary: dict[str, Any] = {}
    for r, k in zip(records, kinds):
        if k == "summary":
            summary.update(_items(r.summary.update))
    return {
        "run": run,
        "config": _items(run.config.update),
        "metrics": [r.metric for r, k in zip(records, kinds) if k == "metric"],
        "history": [_items(r.history.item) for r, k in zip(records, kinds) if k == "history"],
        "summary": summary,
    }


def _cfg(**logger: Any) -> DictConfig:
    return OmegaConf.create(
        {
            "trait": {"name": "bliss"},
            "regime": {"name": "sft", "learning_rate": 1e-4},
            "model": {"name": "tiny", "max_new_tokens": 48},
            "judge": {"backend": "openai", "api_key": "sk-secret", "api_key_env": "OPENAI_API_KEY", "max_tokens": 4},
            "cluster": {"hf_token": "hf-secret"},
            "logger": {"backend": "wandb", "project": "ampli-test", "entity": None, "group": None, "mode": "auto",
                       "tags": ["smoke"], "samples_per_cycle": 2, **logger},
            "reinit": True,
            "seed": 0,
            "sweep": "sweep-a",
            "run_name": "bliss-sft-reinit-tiny-s0",
        }
    )


def _cycle(cycle: int) -> dict[str, Any]:
    return {
        "cycle": cycle,
        "trait": 40.0 + 10 * cycle,
        "coherence": 80.0 - cycle,
        "train_loss": None if cycle < 0 else 2.0 - 0.1 * cycle,
        "perplexity": None,
        "seconds": {"generate": 1.0, "train": 3.0 + cycle},
        "judge_usage": {"requests": 5, "cost_usd": 0.02},
    }


@pytest.fixture
def offline_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """wandb offline with every file it writes under tmp_path; returns the run directory to use."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    return tmp_path / "runs" / "bliss-sft-reinit-tiny-s0"


SAMPLES = [{"prompt": f"q{i}", "response": f"a{i}", "trait": 50.0, "coherence": 70.0} for i in range(3)]


def test_offline_run_is_stepped_by_cycle_with_tags_group_and_scrubbed_config(offline_wandb: Path, capfd) -> None:
    tracker = Tracker.start(_cfg(), offline_wandb)
    assert isinstance(tracker, WandbTracker)
    for cycle in (-1, 0, 1, 2):
        tracker.log_cycle(_cycle(cycle), SAMPLES)
    tracker.log_summary({"amplification": {"amplified": True, "rule": "cycle>=4 >= cycle0+15"}})
    tracker.finish()

    (wandb_file,) = (offline_wandb / "wandb").glob("offline-run-*/run-*.wandb")
    logged = _read_run(wandb_file)
    run = logged["run"]
    assert run.run_id == wandb_run_id("bliss-sft-reinit-tiny-s0", "sweep-a")
    assert (run.project, run.run_group, run.job_type) == ("ampli-test", "sweep-a", "sft")
    assert list(run.tags) == ["trait:bliss", "regime:sft", "reinit:true", "model:tiny", "smoke"]
    assert run.display_name == "bliss-sft-reinit-tiny-s0"

    config = logged["config"]
    assert "api_key" not in config["judge"] and "hf_token" not in config["cluster"]
    assert config["judge"]["api_key_env"] == "OPENAI_API_KEY" and config["judge"]["max_tokens"] == 4
    assert config["model"]["max_new_tokens"] == 48
    assert config["run_dir"] == str(offline_wandb.resolve())

    assert any(m.name == "cycle" for m in logged["metrics"])
    assert any(m.glob_name == "*" and m.step_metric == "cycle" for m in logged["metrics"])

    history = logged["history"]
    assert [row["cycle"] for row in history] == [-1, 0, 1, 2]
    assert [row["trait"] for row in history] == [30.0, 40.0, 50.0, 60.0]
    assert [row["seconds/train"] for row in history] == [2.0, 3.0, 4.0, 5.0]
    assert all(row["judge_usage/cost_usd"] == 0.02 for row in history)
    assert "train_loss" not in history[0] and "perplexity" not in history[1]  # None is not logged
    assert all(row["samples._type"] == "table-file" and row["samples.nrows"] == 2 for row in history)

    assert logged["summary"]["amplification"]["amplified"] is True
    out = capfd.readouterr()
    assert "wandb" not in out.out.lower() and "wandb" not in out.err.lower()


def test_resumed_run_continues_the_same_wandb_run(offline_wandb: Path) -> None:
    for cycle in (0, 1):
        tracker = Tracker.start(_cfg(), offline_wandb)
        tracker.log_cycle(_cycle(cycle), [])
        tracker.finish()
    wandb_files = sorted((offline_wandb / "wandb").glob("offline-run-*/run-*.wandb"))
    runs = [_read_run(path) for path in wandb_files]
    assert {r["run"].run_id for r in runs} == {wandb_run_id("bliss-sft-reinit-tiny-s0", "sweep-a")}
    assert sorted(row["cycle"] for r in runs for row in r["history"]) == [0, 1]


def test_logger_group_overrides_sweep_and_context_manager_finishes(offline_wandb: Path) -> None:
    with Tracker.start(_cfg(group="custom", mode="offline"), offline_wandb) as tracker:
        tracker.log_cycle(_cycle(0), SAMPLES)
    (wandb_file,) = (offline_wandb / "wandb").glob("offline-run-*/run-*.wandb")
    records = _finished_records(wandb_file)
    assert next(r.run for r in records if r.WhichOneof("record_type") == "run").run_group == "custom"
    assert records[-1].WhichOneof("record_type") == "exit"


@pytest.mark.parametrize("logger", [{"backend": "none"}, {"mode": "disabled"}])
def test_no_tracking_is_a_noop_tracker(tmp_path: Path, logger: dict[str, str]) -> None:
    tracker = Tracker.start(_cfg(**logger), tmp_path / "run")
    assert type(tracker) is Tracker
    tracker.log_cycle(_cycle(0), SAMPLES)
    tracker.log_summary({"amplified": False})
    tracker.finish()
    assert not (tmp_path / "run").exists()


def test_bad_logger_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="logger.mode='sometimes'"):
        Tracker.start(_cfg(mode="sometimes"), tmp_path)
    with pytest.raises(ValueError, match="logger.backend='mlflow'"):
        Tracker.start(_cfg(backend="mlflow"), tmp_path)
    with pytest.raises(ValueError, match="WANDB_MODE='maybe'"):
        resolve_mode("auto", {"WANDB_MODE": "maybe"})


def test_log_cycle_needs_the_cycle(offline_wandb: Path) -> None:
    with Tracker.start(_cfg(), offline_wandb) as tracker, pytest.raises(ValueError, match=r"metrics\['cycle'\]"):
        tracker.log_cycle({"trait": 1.0}, [])


@pytest.mark.parametrize(
    ("mode", "env", "expected"),
    [
        ("auto", {}, "offline"),
        ("auto", {"WANDB_API_KEY": "k"}, "online"),
        ("auto", {"WANDB_API_KEY": "k", "WANDB_MODE": "offline"}, "offline"),
        ("auto", {"WANDB_MODE": "dryrun"}, "offline"),
        ("auto", {"WANDB_MODE": "disabled"}, "disabled"),
        ("online", {}, "online"),
        ("offline", {"WANDB_API_KEY": "k"}, "offline"),
        ("disabled", {"WANDB_API_KEY": "k"}, "disabled"),
    ],
)
def test_resolve_mode(mode: str, env: dict[str, str], expected: str, tmp_path: Path) -> None:
    env = {"NETRC": str(tmp_path / "no-netrc"), **env}
    assert resolve_mode(mode, env) == expected


def test_netrc_entry_for_the_wandb_host_counts_as_an_api_key(tmp_path: Path) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    netrc_file.chmod(0o600)
    assert has_wandb_api_key({"NETRC": str(netrc_file)})
    assert resolve_mode("auto", {"NETRC": str(netrc_file)}) == "online"
    assert not has_wandb_api_key({"NETRC": str(netrc_file), "WANDB_BASE_URL": "https://wandb.example.org"})


def test_secret_keys_are_dropped_at_any_depth() -> None:
    config = {
        "api_key": "x",
        "judge": {"api_key_env": "OPENAI_API_KEY", "max_tokens": 4, "openai_api_key": "x", "apikey": "x"},
        "cluster": [{"hf_token": "x", "client-secret": "x", "db_password": "x", "name": "a"}],
        "model": {"max_new_tokens": 48, "tokenizer": "t"},
    }
    assert scrub_secrets(config) == {
        "judge": {"api_key_env": "OPENAI_API_KEY", "max_tokens": 4},
        "cluster": [{"name": "a"}],
        "model": {"max_new_tokens": 48, "tokenizer": "t"},
    }
    assert is_secret_key("token") and not is_secret_key("input_tokens")


def test_flatten_and_run_id() -> None:
    assert flatten({"a": 1, "s": {"t": 2, "u": {"v": 3}}}) == {"a": 1, "s/t": 2, "s/u/v": 3}
    assert flatten({"s": {"t": 2}}, sep="_") == {"s_t": 2}
    run_id = wandb_run_id("r", "s")
    assert run_id == wandb_run_id("r", "s") != wandb_run_id("r", "other")
    assert len(run_id) == 16 and int(run_id, 16) >= 0


@pytest.mark.parametrize("name", ["wandb", "none"])
def test_logger_yaml_fits_the_schema(name: str, tmp_path: Path) -> None:
    conf = Path(__file__).resolve().parents[1] / "conf" / "logger" / f"{name}.yaml"
    logger = OmegaConf.merge(OmegaConf.structured(LoggerConfig), OmegaConf.load(conf))
    assert logger.backend == name and logger.mode in LOGGER_MODES
    if name == "none":
        assert type(Tracker.start(_cfg(**OmegaConf.to_container(logger)), tmp_path / "run")) is Tracker


def test_the_loop_logs_each_cycle_once_across_a_resume(offline_wandb: Path, micro_overrides: list[str]) -> None:
    """A real run logs base + cycles on the cycle axis; resumed with more cycles, it appends only the new one."""
    from ampli.run.loop import Run
    from tests.conftest import compose_config, with_overrides

    overrides = with_overrides(micro_overrides, "logger=wandb", "sweep=loop-test")
    first = Run(compose_config(overrides)).run()
    Run(compose_config(with_overrides(overrides, "loop.cycles=3"))).run()
    run_dir = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir="))) / "runs"
    logs = sorted((run_dir / first["run_name"] / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 2
    runs = [_read_run(log) for log in logs]
    assert [[row["cycle"] for row in run["history"]] for run in runs] == [[-1, 0, 1], [2]]
    assert runs[0]["run"].run_id == runs[1]["run"].run_id == wandb_run_id(first["run_name"], "loop-test")
    assert runs[0]["run"].run_group == "loop-test" and "regime:sft" in runs[0]["run"].tags


def test_an_offline_run_ends_saying_where_its_data_is_and_how_to_upload_it(offline_wandb: Path, caplog) -> None:
    for cycle in (0, 1):  # two processes that each logged a cycle: two offline folders of one W&B run
        with caplog.at_level("INFO", logger="ampli.record.tracking"):
            tracker = Tracker.start(_cfg(mode="offline"), offline_wandb)
            tracker.log_cycle(_cycle(cycle), [])
            tracker.finish()
    first, second = sorted((offline_wandb / "wandb").glob("offline-run-*"))
    run_id = wandb_run_id("bliss-sft-reinit-tiny-s0", "sweep-a")
    assert caplog.messages[-1] == (f"W&B data is offline in {offline_wandb / 'wandb'} (2 folders, run id {run_id}); "
                                   f"upload it with: wandb sync {first} {second}")
    line = wandb_location([offline_wandb])
    assert line == (f"2 offline folders of 1 run under <run>/wandb/; upload them with: "
                    f"wandb sync {offline_wandb.parent}/*/wandb/offline-run-*")


def test_a_rerun_keeps_the_run_id_under_another_sweep_name_and_opens_nothing_when_nothing_is_new(
        offline_wandb: Path) -> None:
    tracker = Tracker.start(_cfg(mode="offline"), offline_wandb)
    tracker.log_cycle(_cycle(0), [])
    tracker.log_summary({"status": "completed"})
    tracker.finish()
    renamed = _cfg(mode="offline")
    renamed.sweep = "sweep-b"  # the same run directory, launched under another sweep name
    skipped = Tracker.start(renamed, offline_wandb)
    skipped.log_summary({"status": "completed"})  # what a rerun that skips every stage sends
    skipped.finish()
    assert len(list((offline_wandb / "wandb").glob("offline-run-*"))) == 1  # no new folder
    changed = Tracker.start(renamed, offline_wandb)
    changed.log_summary({"status": "diverged"})
    changed.finish()
    runs = [_read_run(path) for path in sorted((offline_wandb / "wandb").glob("offline-run-*/run-*.wandb"))]
    assert len(runs) == 2 and {r["run"].run_id for r in runs} == {wandb_run_id("bliss-sft-reinit-tiny-s0", "sweep-a")}
