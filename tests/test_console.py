"""What a researcher sees on the console of `launch.py`: one line per stage, progress bars that never share a line
with a log record, no trainer metric dicts unless asked for (-v), and warnings kept."""

import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from ampli.record import console
from tests.conftest import MICRO, ROOT, with_overrides

RECORD = re.compile(r"\d\d:\d\d:\d\d ")  # the console formatter's time stamp: where a log record starts
STAGES = ["base/eval", "cycle_000/generate", "cycle_000/judge", "cycle_000/train", "cycle_000/eval"]


def launch(tmp_path: Path, *args: str, cache: Path | None = None) -> str:
    """Run launch.py as a user would (one 1-cycle micro run), stdout and stderr interleaved as on a terminal."""
    overrides = with_overrides(MICRO, "loop.cycles=1", f"output_dir={tmp_path / 'outputs'}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"AMPLI_CACHE": str(cache)} if cache else {})}
    done = subprocess.run([sys.executable, "launch.py", *args, *overrides], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def segments(output: str) -> list[str]:
    """What a terminal would show as separate writes: lines, and within a line the parts a bar redraws with \\r."""
    return [part for line in output.split("\n") for part in line.split("\r") if part.strip()]


def records(output: str) -> list[str]:
    """Console log records; each must start its own segment, never follow a progress bar's text."""
    found = []
    for part in segments(output):
        match = RECORD.search(part)
        if match:
            assert match.start() == 0, f"a log record shares a line with a progress bar: {part!r}"
            found.append(part)
    return found


def stage_lines(lines: list[str], verb: str) -> list[str]:
    words = [[w for w in line.split()[1:] if not w.startswith("[")] for line in lines]  # without a run's [label]
    return [w[1] for w in words if w and w[0] == verb]


def test_a_one_cycle_run_prints_a_line_per_stage_and_no_trainer_dicts(tmp_path):
    """A cold cache: the tiny model's warm-up trains too, and its metric dicts stay off the console as well."""
    output = launch(tmp_path, cache=tmp_path / "cache")
    assert "{'loss'" not in output and "'grad_norm'" not in output
    lines = records(output)
    assert stage_lines(lines, "run") == STAGES
    assert all(re.fullmatch(r"\S+ run \S+ \d+\.\d s", line) for line in lines if line.split()[1] == "run")
    assert any("cycle 0: trait" in line for line in lines) and "completed after 1 cycles" in lines[-1]
    assert "\r" not in output and "seq/s" not in output  # not a terminal: stage lines, no redrawn bars

    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    (pointer,) = (run_dir / "logs.txt").read_text().splitlines()  # the run directory names its detailed log

    (log_file,) = (tmp_path / "outputs" / "hydra").glob("*/*/launch.log")
    assert Path(pointer) == log_file.resolve()
    log = log_file.read_text()
    assert "[ampli.train][DEBUG] - tiny model warm-up step 2: {'loss'" in log  # the detail is in the log file
    assert "[ampli][DEBUG] - start cycle_000/train" in log


def test_verbose_brings_the_trainer_metrics_and_stage_starts_back(tmp_path):
    output = launch(tmp_path, "-v", "regime.batch_size=1")  # 16 steps: the trainer logs its loss at step 10
    lines = records(output)  # trainer records arrive while the training bar is live, each on its own line
    loss = [line for line in lines if "DEBUG: cycle_000 train step 10: {'loss'" in line]
    assert len(loss) == 1
    assert stage_lines([line.replace("DEBUG: ", "") for line in lines], "start") == STAGES
    assert stage_lines(lines, "run") == STAGES


def test_python_and_transformers_warnings_reach_the_console_handlers(caplog):
    from transformers.utils import logging as hf_logging

    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():  # restores the warnings module afterwards
        logging.captureWarnings(False)  # as in a fresh process: an earlier setup may have captured pytest's hook
        console.setup(verbose=False)
        warnings.simplefilter("always")
        warnings.warn("a deprecated knob", UserWarning)
    hf_logging.get_logger("transformers.generation").warning("generation flags are ignored")
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert any(name == "py.warnings" and "a deprecated knob" in text for name, text in messages)
    assert ("transformers.generation", "generation flags are ignored") in messages


def test_a_record_logged_while_a_bar_is_live_gets_a_line_of_its_own(monkeypatch):
    import io

    from tqdm.auto import tqdm

    terminal = io.StringIO()
    handler = console.ProgressSafeHandler(terminal)
    handler.setFormatter(console.ConsoleFormatter())
    monkeypatch.setattr(console, "SHOW_BARS", True)  # a run alone on a terminal draws bars
    logger = logging.getLogger("ampli.test_console")
    logger.addHandler(handler)
    try:
        with tqdm(total=10, desc="cycle_000 eval", file=terminal, mininterval=0) as bar:
            bar.update(9)
            logger.warning("a judge request was retried")
            bar.update(1)
    finally:
        logger.removeHandler(handler)
    (line,) = records(terminal.getvalue())
    assert line.endswith("WARNING: a judge request was retried")
    assert any(part.startswith("cycle_000 eval:  90%") for part in segments(terminal.getvalue()))


def test_side_by_side_lines_name_their_run_and_go_out_in_one_write(monkeypatch):
    class Terminal:
        def __init__(self):
            self.writes = []

        def write(self, text):
            self.writes.append(text)

        def flush(self):
            pass

    terminal = Terminal()
    handler = console.ProgressSafeHandler(terminal)
    handler.setFormatter(console.ConsoleFormatter())
    monkeypatch.setattr(console, "SHOW_BARS", False)
    monkeypatch.setattr(console, "console_handlers", lambda: [handler])
    console.label_lines("bliss-sft-reinit-micro-s0")
    logger = logging.getLogger("ampli.test_console")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        logger.info("run %s %.1f s", "cycle_001/train", 4.1)
        logger.warning("[bliss-sft-reinit-micro-s0] stopped: collapsed")  # already named: not twice
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [w[9:] for w in terminal.writes] == ["[bliss-sft-reinit-micro-s0] run cycle_001/train 4.1 s\n",
                                               "WARNING: [bliss-sft-reinit-micro-s0] stopped: collapsed\n"]


@pytest.mark.parametrize("disable_tqdm", [True, False])
def test_a_trainer_keeps_only_ampli_s_progress_whatever_transformers_verbosity(tmp_path, disable_tqdm):
    """disable_tqdm (what an ERROR verbosity selects) swaps ProgressCallback for PrinterCallback: both print dicts."""
    import torch
    from transformers import Trainer, TrainingArguments

    from ampli.models.training import TrainerProgress, show_progress

    args = TrainingArguments(output_dir=str(tmp_path), disable_tqdm=disable_tqdm, use_cpu=True, report_to="none")
    trainer = Trainer(model=torch.nn.Linear(2, 2), args=args)
    show_progress(trainer, "cycle_000 train")
    progress = [type(c).__name__ for c in trainer.callback_handler.callbacks if "Progress" in type(c).__name__
                or "Printer" in type(c).__name__]
    assert progress == [TrainerProgress.__name__]


def test_jobs_side_by_side_print_stage_lines_and_no_bars(tmp_path, model_cache):
    """Two pool workers share one terminal: neither can lift the other's bar out of a record's way, so neither
    draws one, and every record still starts its own line."""
    output = launch(tmp_path, "-m", "trait=bliss,lucky", "cluster=pool", "cluster.n_jobs=2",
                    "loop.judge_samples=4", "loop.coherence_filter.min=1", cache=model_cache)
    lines = records(output)
    assert sorted(stage_lines(lines, "run")) == sorted(STAGES * 2)
    for trait in ("bliss", "lucky"):  # each job's lines name its run, from the warnings before its directory exists
        named = [line for line in lines if f"[{trait}-sft-reinit-" in line]
        assert sorted(stage_lines([line for line in named if " run " in line], "run")) == sorted(STAGES), trait
        assert any("loop.judge_samples=4 applies to cycle 0 only" in line for line in named), trait
    assert "seq/s" not in output and "step/s" not in output


@pytest.mark.parametrize("cluster, expected", [
    ({"name": "pool", "n_jobs": 2}, True),
    ({"name": "pool", "n_jobs": 1}, False),
    ({"name": "local"}, False),
    ({}, False),
])
def test_only_a_pool_of_several_jobs_counts_as_side_by_side(cluster, expected):
    assert console.side_by_side(cluster) is expected


def test_library_deprecation_noise_stays_off_the_console():
    """TRL reads transformers' deprecated is_gradient_checkpointing in DPO and distillation steps."""

    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                                         num_key_value_heads=1, intermediate_size=8))
    # As any earlier run's console.setup leaves it: first called inside catch_warnings, captureWarnings would replace
    # the recorder itself, and the test's outcome would hang on which tests ran before it.
    logging.captureWarnings(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert model.is_gradient_checkpointing is False
        assert any("is_gradient_checkpointing" in str(w.message) for w in caught)  # transformers does warn
        caught.clear()
        console.setup(verbose=True)  # verbose lets every other deprecation through
        assert model.is_gradient_checkpointing is False
        warnings.warn("another deprecation", FutureWarning)
    assert [str(w.message) for w in caught] == ["another deprecation"]


def test_a_mean_of_nothing_scorable_prints_n_a():
    assert console.score(None) == "n/a" and console.score(0.0) == "0.0" and console.score(0.25, ".3f") == "0.250"
