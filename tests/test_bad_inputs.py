"""Bad inputs fail early with one clear message naming the value (or file and line) and the valid options.

Covered elsewhere, not repeated here: unknown group options and bad values through compose (test_config.py),
loop.cycles=0 through launch.py (test_loop.py), malformed JSONL parsing itself (test_store.py).
"""

import errno
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import transformers
from fakes.judge_server import FakeJudgeServer, Reply, judge_overrides

from ampli.hosted.credentials import JudgeSetupError
from ampli.inputs.corpus import SHIPPED_DATA, DataError
from ampli.inputs.sampling import PoolTooSmallError
from ampli.record.store import DiskFullError, read_json, write_json
from ampli.run.loop import Run
from tests.conftest import CONF, ROOT, compose_config, with_overrides


def launch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "launch.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def output_dir(overrides: list[str]) -> Path:
    return Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))


def stage_lines(caplog, verb: str) -> list[str]:
    return [r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith(f"{verb} ")]


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A copy of the shipped data, to break one file at a time."""
    return Path(shutil.copytree(SHIPPED_DATA, tmp_path / "data"))


# ---- unknown options and malformed config files, through the real entry point ----------------------------


@pytest.mark.parametrize("group,bad", [("regime", "rlhf"), ("model", "gpt5"), ("judge", "oracle")])
def test_launch_lists_the_valid_options_of_an_unknown_group_option(group, bad):
    done = launch(f"{group}={bad}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1  # one line (ampli/run/preflight.py), not Hydra's
    assert done.stderr.startswith(f"ampli: error: {group}={bad} is not valid: there is no {group} '{bad}'")
    valid = sorted(p.stem for p in (CONF / group).glob("*.yaml"))
    assert all(option in done.stderr for option in valid)
    assert "Traceback" not in done.stderr


def test_launch_names_file_and_line_of_malformed_yaml(tmp_path):
    conf = Path(shutil.copytree(CONF, tmp_path / "conf"))
    (conf / "trait" / "bliss.yaml").write_text("name: bliss\ndescription: [unclosed\npersona: x\n")
    done = launch("--config-path", str(conf), f"output_dir={tmp_path / 'out'}")
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"ampli: error: malformed YAML in {conf / 'trait' / 'bliss.yaml'}, line 3" in done.stderr
    assert not (tmp_path / "out").exists()


def test_launch_names_file_and_line_of_a_malformed_jsonl_line(micro_overrides, data_dir):
    prompts = data_dir / "prompts.jsonl"
    lines = prompts.read_text().splitlines()
    lines[4] = lines[4][:-1]  # drop the closing brace of line 5
    prompts.write_text("\n".join(lines) + "\n")
    done = launch(*with_overrides(micro_overrides, f"data_dir={data_dir}"))
    assert done.returncode == 2
    assert f"ampli: error: {prompts} (loop.prompts_file): 1 of " in done.stderr
    assert f"\n  {prompts}:5: malformed JSON line" in done.stderr
    assert not (output_dir(micro_overrides) / "runs").exists()


# ---- data problems fail before a run directory or a model is made ------------------------------------------


def refuses(overrides: list[str], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Run(compose_config(overrides))
    assert not (output_dir(overrides) / "runs").exists()


def test_missing_seed_file(micro_overrides, data_dir):
    (data_dir / "seeds" / "bliss.jsonl").unlink()
    refuses(with_overrides(micro_overrides, f"data_dir={data_dir}"), DataError,
            re.escape(f"data file {data_dir / 'seeds' / 'bliss.jsonl'} is missing"))


def test_empty_prompt_file(micro_overrides, data_dir):
    (data_dir / "prompts.jsonl").write_text("\n")
    refuses(with_overrides(micro_overrides, f"data_dir={data_dir}"), DataError,
            re.escape(f"data file {data_dir / 'prompts.jsonl'} is empty"))


def test_malformed_seed_line(micro_overrides, data_dir):
    seeds = data_dir / "seeds" / "bliss.jsonl"
    seeds.write_text(seeds.read_text().replace("\n", "\nnot json\n", 1))
    refuses(with_overrides(micro_overrides, f"data_dir={data_dir}"), DataError,
            re.escape(f"{seeds}:2: malformed JSON line"))


@pytest.mark.parametrize("overrides,match", [
    (["regime.samples_per_cycle=10000"], r"regime.samples_per_cycle=10000 x 1 generating cycles needs 10000 prompts"),
    (["regime.samples_per_cycle=null", "loop.prompts_per_cycle=500", "loop.cycles=4"],
     r"loop.prompts_per_cycle=500 x 3 generating cycles needs 1500 prompts, but the pool holds \d+"),
    (["regime=sdf", "regime.continuation=trait_prefix", "regime.samples_per_cycle=10000"],
     r"needs 10000 held-out documents.*ampli teach --documents N"),
    (["regime=sdf", "regime.samples_per_cycle=10000"], r"needs 10000 document openers.*openers.jsonl in data_dir"),
    (["loop.seed_examples=100000"], r"loop.seed_examples asks for 100000 seed examples but .*bliss.jsonl holds only"),
    (["regime=sdf", "loop.seed_examples=100000"], r"loop.seed_examples asks for 100000 seed documents"),
])
def test_more_items_than_the_pool_holds(micro_overrides, overrides, match):
    refuses(with_overrides(micro_overrides, *overrides), (DataError, PoolTooSmallError), match)


def test_missing_api_key_fails_before_any_generation(micro_overrides, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    refuses(with_overrides(micro_overrides, "judge=openai"), JudgeSetupError,
            "environment variable OPENAI_API_KEY, which is not set")


# ---- failures mid-run stop cleanly and keep what was produced ----------------------------------------------


@pytest.mark.parametrize("status, names", [(403, "AMPLI_TEST_REFUSED_KEY"), (404, "'fake-judge'")])
def test_a_judge_that_refuses_the_key_or_knows_no_such_model_stops_the_run_in_one_line(micro_overrides, monkeypatch,
                                                                                       status, names):
    """The README's promise for 401/403/404, through the real entry point: one line, exit 2, no retries."""
    monkeypatch.setenv("AMPLI_TEST_REFUSED_KEY", "sk-refused")
    with FakeJudgeServer(lambda user, attempt: Reply(status=status)) as server:
        done = launch(*with_overrides(micro_overrides, *judge_overrides(server, "AMPLI_TEST_REFUSED_KEY")))
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("ampli: error: judge 'openai'") and names in errors[0]
    assert f"({status})" in errors[0] and "Traceback" not in done.stderr
    assert 0 < server.requests and server.asked_more_than_once() == []  # the first stage's requests, none retried


def test_non_finite_loss_stops_the_run_as_diverged_and_keeps_its_data(micro_overrides):
    # Cycle 0 trains at the normal rate; the continual cycle 1 at an absurd one, so the loss becomes inf/nan.
    overrides = with_overrides(micro_overrides, "reinit=false", "regime.continual_learning_rate=1e30",
                               "regime.batch_size=2")
    summary = Run(compose_config(overrides)).run()
    run_dir = output_dir(overrides) / "runs" / summary["run_name"]
    metrics = read_json(run_dir / "metrics.json")
    assert metrics["status"] == summary["status"] == "diverged"
    assert [c["cycle"] for c in metrics["cycles"]] == [0]
    for name in ("generations.jsonl", "judgments.jsonl", "train.json", "eval.jsonl", "metrics.json", "checkpoint"):
        assert (run_dir / "cycle_000" / name).exists(), name
    assert (run_dir / "cycle_001" / "judgments.jsonl").exists() and not (run_dir / "cycle_001" / "checkpoint").exists()
    assert read_json(run_dir / "manifest.json")["completed"][-2:] == ["cycle_001/generate", "cycle_001/judge"]


def test_disk_full_on_checkpoint_save_stops_with_a_clear_message_and_resumes(micro_overrides, monkeypatch, caplog):
    real_save = transformers.PreTrainedModel.save_pretrained

    def save_until_cycle_1(model, directory, *args, **kwargs):
        if Path(directory).parent.name == "cycle_001":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(model, directory, *args, **kwargs)

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", save_until_cycle_1)
    cfg = compose_config(micro_overrides)
    run_dir = output_dir(micro_overrides) / "runs" / cfg.run_name
    checkpoint = run_dir / "cycle_001" / "checkpoint"
    with pytest.raises(DiskFullError, match=re.escape(f"disk full while saving checkpoint {checkpoint}")):
        Run(cfg).run()
    kept = {p.name for p in (run_dir / "cycle_001").iterdir()}
    assert {"generations.jsonl", "judgments.jsonl"} <= kept and not any("checkpoint" in name for name in kept)
    assert (run_dir / "cycle_000" / "checkpoint" / "config.json").exists()
    assert read_json(run_dir / "manifest.json")["completed"][-1] == "cycle_001/judge"

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", real_save)  # space freed
    caplog.set_level(logging.INFO, logger="ampli")
    summary = Run(compose_config(micro_overrides)).run()
    assert stage_lines(caplog, "run") == ["cycle_001/train", "cycle_001/eval"]
    assert summary["status"] == "completed" and len(summary["cycles"]) == 2


def test_disk_full_while_writing_a_stage_keeps_the_previous_state_names_the_path_and_resumes(micro_overrides,
                                                                                            monkeypatch, caplog):
    cfg = compose_config(micro_overrides)
    run_dir = output_dir(micro_overrides) / "runs" / cfg.run_name
    target = run_dir / "cycle_001" / "judgments.jsonl"
    real_fsync = os.fsync

    def full_at_target(fd):  # the stage's file is half written when the disk fills up
        written = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if written.parent == target.parent and written.name.startswith(f".{target.name}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_at_target)
    with pytest.raises(DiskFullError, match=re.escape(f"disk full while saving file {target}")):
        Run(cfg).run()
    completed = read_json(run_dir / "manifest.json")["completed"]
    assert completed[-1] == "cycle_001/generate" and "cycle_000/eval" in completed
    assert sorted(p.name for p in target.parent.iterdir()) == ["generations.jsonl", "stats.json"]  # no temp file
    assert read_json(run_dir / "cycle_000" / "metrics.json")["cycle"] == 0
    assert not (run_dir / "run.lock").exists()  # released on the error

    monkeypatch.setattr(os, "fsync", real_fsync)  # space freed
    caplog.set_level(logging.INFO, logger="ampli")
    summary = Run(compose_config(micro_overrides)).run()
    assert stage_lines(caplog, "run") == ["cycle_001/judge", "cycle_001/train", "cycle_001/eval"]
    assert summary["status"] == "completed" and len(summary["cycles"]) == 2


def test_disk_full_on_a_file_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    write_json(path, {"cycle": 0})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(DiskFullError, match=re.escape(f"disk full while saving file {path}")):
        write_json(path, {"cycle": 1})
    assert read_json(path) == {"cycle": 0} and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
