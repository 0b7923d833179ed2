"""Seed calibration: the crossing rule on hand-made series, and one real calibration on the micro model whose
YAML then drives a real `launch.py -m` sweep."""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ampli.run.calibrate import calibrate, default_ladder, first_crossings, main, with_overrides, write_calibration
from tests.conftest import CONF, ROOT

TARGETS = [10, 25, 50, 75, 90]


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        # rising: each target at the first N at or above it (a score equal to the target crosses it)
        ([(8, 5.0), (16, 10.0), (32, 40.0), (64, 80.0), (128, 95.0)], {10: 16, 25: 32, 50: 64, 75: 64, 90: 128}),
        # never crossed: None, not the last N
        ([(8, 2.0), (16, 30.0), (32, 60.0)], {10: 16, 25: 16, 50: 32, 75: None, 90: None}),
        # non-monotone: a later dip does not undo a crossing, and a later N never replaces the first one
        ([(8, 12.0), (16, 3.0), (32, 55.0), (64, 20.0), (128, 91.0)], {10: 8, 25: 32, 50: 32, 75: 128, 90: 128}),
        # order of the series does not matter; unscorable (None) crosses nothing
        ([(64, 99.0), (8, None), (16, 26.0)], {10: 16, 25: 16, 50: 64, 75: 64, 90: 64}),
        ([], {10: None, 25: None, 50: None, 75: None, 90: None}),
    ],
)
def test_first_crossings(series, expected):
    assert first_crossings(series, TARGETS) == expected


def test_default_ladder_doubles_then_steps_to_the_seed_set_size():
    assert default_ladder(440) == [8, 16, 32, 64, 128, 256, 384, 440]
    assert default_ladder(512) == [8, 16, 32, 64, 128, 256, 384, 512]
    assert default_ladder(20) == [8, 16, 20]


def test_with_overrides_replaces_keys():
    assert with_overrides(["a=1", "b=2", "+c=3"], "b=5", "c=4") == ["a=1", "b=5", "c=4"]


def test_no_crossing_writes_the_record_but_no_sweep(tmp_path: Path):
    (tmp_path / "bliss-sft-tiny.yaml").write_text("stale\n")
    write_calibration(tmp_path, ("bliss", "sft", "tiny"), {50: None}, {8: 3.0, 16: 4.0}, ["trait=bliss"], "x")
    assert not (tmp_path / "bliss-sft-tiny.yaml").exists()
    record = json.loads((tmp_path / "bliss-sft-tiny.json").read_text())
    assert record["n"] == [None] and record["scores"] == {"8": 3.0, "16": 4.0}


def test_cli_rejects_bad_inputs(capsys):
    assert main(["trait=joy", "--ladder", "4"]) == 2
    err = capsys.readouterr().err
    assert "joy" in err and "bliss" in err
    assert main(["trait=bliss", "--ladder", "8,100000"]) == 2
    assert "[100000]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--targets", "ten"])


def compose_sweep(conf_dir: Path, name: str, overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", return_hydra_config=True,
                       overrides=[f"hydra.searchpath=[file://{conf_dir}]", f"+calibration={name}", *overrides])


@pytest.mark.slow
def test_calibration_on_the_micro_model_drives_a_sweep(micro_overrides, tmp_path: Path):
    conf_dir = tmp_path / "conf"
    printed = []
    # Target 0 is crossed by any score, 101 by none: the whole ladder runs and one target stays unreached.
    crossings = calibrate(micro_overrides, [0, 101], [8, 4], out_dir=conf_dir / "calibration",
                          on_result=lambda n, score: printed.append((n, score)))
    assert crossings == {0: 4, 101: None}
    assert [n for n, _ in printed] == [4, 8] and all(0 <= s <= 100 for _, s in printed)
    runs = tmp_path / "outputs" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["bliss-sft-reinit-micro-s0-n4", "bliss-sft-reinit-micro-s0-n8"]
    record = json.loads((conf_dir / "calibration" / "bliss-sft-micro.json").read_text())
    assert record["targets"] == [0, 101] and record["n"] == [4, None]
    assert record["scores"] == {str(n): s for n, s in printed}

    # A rerun reuses the finished runs: every stage is skipped.
    assert calibrate(micro_overrides, [0], [4], out_dir=conf_dir / "calibration") == {0: 4}
    yaml_text = (conf_dir / "calibration" / "bliss-sft-micro.yaml").read_text()
    assert yaml_text.startswith("# @package _global_\n") and "loop.seed_examples: 4\n" in yaml_text

    # Hydra composes the written config as the `calibration` group, with the sweep over the N values found.
    write_calibration(conf_dir / "calibration", ("bliss", "sft", "micro"), {0: 4, 50: 8},
                      {4: printed[0][1], 8: printed[1][1]}, micro_overrides,
                      "${trait.name}-${regime.name}-${reinit_label:${reinit}}-${model.name}-s${seed}")
    cfg = compose_sweep(conf_dir, "bliss-sft-micro", ["loop.seed_examples=4"])
    assert cfg.hydra.sweeper.params == {"loop.seed_examples": "4,8"}
    assert cfg.run_name == "bliss-sft-reinit-tiny-s0-n4"

    # The command the YAML suggests runs a real multirun sweep, one job per N, each on its calibration run.
    yaml_text = (conf_dir / "calibration" / "bliss-sft-micro.yaml").read_text()
    suggested = re.search(r"^#   python launch\.py -m (.*)$", yaml_text, re.MULTILINE).group(1)
    assert suggested.startswith("+calibration=bliss-sft-micro trait=bliss regime=sft model=micro ")
    assert "loop.seed_examples" not in suggested and "loop.cycles" not in suggested
    sweep_dir = tmp_path / "multirun"
    command = [sys.executable, "launch.py", "-m", *shlex.split(suggested), "loop.cycles=1",
               f"hydra.searchpath=[file://{conf_dir}]", f"hydra.sweep.dir={sweep_dir}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    job_runs = sorted(Path(p.read_text().strip()).name for p in sweep_dir.glob("*/run_dir.txt"))  # not report/
    assert job_runs == ["bliss-sft-reinit-micro-s0-n4", "bliss-sft-reinit-micro-s0-n8"]
    log = done.stdout + done.stderr
    assert log.count("skip cycle_000/train (completed)") == 2 and "run cycle_000" not in log  # reused, not redone
