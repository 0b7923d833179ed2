"""A reinit run adopts the base eval and seed cycle of a finished continual run with the same settings, and what
it adopts is exactly what it would have computed."""

import filecmp
import logging

import pytest

from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides

SHARED = ["base/eval.jsonl", "cycle_000/generations.jsonl", "cycle_000/judgments.jsonl", "cycle_000/eval.jsonl",
          "cycle_000/checkpoint/model.safetensors"]


def run(overrides, output_dir, *extra):
    cfg = compose_config(with_overrides(overrides, f"output_dir={output_dir}", *extra))
    summary = Run(cfg).run()
    return summary, output_dir / "runs" / summary["run_name"]


@pytest.mark.parametrize("regime", ["sft", "dpo"])
def test_reinit_run_adopts_what_it_would_have_computed(micro_overrides, tmp_path, caplog, regime):
    _, donor = run(micro_overrides, tmp_path / "sweep", f"regime={regime}", "reinit=false")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ampli"):
        adopted_summary, adopted = run(micro_overrides, tmp_path / "sweep", f"regime={regime}", "reinit=true")
    messages = [r.getMessage() for r in caplog.records]
    assert f"adopt base from {donor.name} (it does not depend on reinit)" in messages
    assert f"adopt cycle_000 from {donor.name} (it does not depend on reinit)" in messages
    assert not any(m.startswith(("run base/", "run cycle_000/")) for m in messages)
    assert any(m.startswith("run cycle_001/train") for m in messages)  # later cycles are its own

    alone_summary, alone = run(micro_overrides, tmp_path / "alone", f"regime={regime}", "reinit=true")
    for name in SHARED:
        assert filecmp.cmp(adopted / name, alone / name, shallow=False), name
    assert adopted_summary["base"]["trait"] == alone_summary["base"]["trait"]
    assert [c["trait"] for c in adopted_summary["cycles"]] == [c["trait"] for c in alone_summary["cycles"]]
    stats = read_json(adopted / "cycle_000/stats.json")
    assert stats["adopted_from"] == donor.name and stats["judge_usage"] == {}
    assert "adopted_from" not in read_json(donor / "cycle_000/stats.json")  # the donor's files are its own


def test_runs_that_differ_in_more_than_reinit_share_nothing(micro_overrides, tmp_path, caplog):
    run(micro_overrides, tmp_path, "reinit=false")
    with caplog.at_level(logging.INFO, logger="ampli"):
        run(micro_overrides, tmp_path, "reinit=true", "loop.temperature=1.0")
    assert not any(r.getMessage().startswith("adopt ") for r in caplog.records)


def test_a_run_with_its_own_seed_cycle_done_adopts_nothing(micro_overrides, tmp_path, caplog):
    """A resumed run keeps what it computed itself, even where a sibling has the same stages."""
    run(micro_overrides, tmp_path, "reinit=true", "loop.cycles=1")
    run(micro_overrides, tmp_path, "reinit=false")
    with caplog.at_level(logging.INFO, logger="ampli"):
        run(micro_overrides, tmp_path, "reinit=true")
    assert not any(r.getMessage().startswith("adopt ") for r in caplog.records)
