"""A reinit run adopts the base eval and seed cycle (with the persona probe, also its vector and measures) of a
finished continual run with the same settings, and what it adopts is exactly what it would have computed."""

import filecmp
import logging

import pytest

from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides

SHARED = ["base/eval.jsonl", "cycle_000/generations.jsonl", "cycle_000/judgments.jsonl", "cycle_000/eval.jsonl",
          "cycle_000/checkpoint/model.safetensors"]
PROBE_SHARED = ["probe/vector.json", "base/probe.json", "cycle_000/probe_predicted.json", "cycle_000/probe.json"]


def measured(summary: dict) -> list[dict]:
    """The base model's and every cycle's numbers, without what it took to get them (time, judge requests)."""
    return [{k: v for k, v in m.items() if k not in ("seconds", "judge_usage")}
            for m in (summary["base"], *summary["cycles"])]


def run(overrides, output_dir, *extra):
    cfg = compose_config(with_overrides(overrides, f"output_dir={output_dir}", *extra))
    summary = Run(cfg).run()
    return summary, output_dir / "runs" / summary["run_name"]


@pytest.mark.parametrize("regime, probe", [("sft", "none"), ("dpo", "none"), ("dpo", "persona"),
                                           ("dpo", "persona probe.min_separation=1000")])
def test_reinit_run_adopts_what_it_would_have_computed(micro_overrides, tmp_path, caplog, regime, probe):
    """With the persona probe on, the twin also adopts the vector and the probe's measures of the base model and of
    cycle 0; a vector that does not separate measures nothing, and the twin adopts that too rather than redoing the
    base eval and cycle 0."""
    probe, *probe_settings = probe.split()
    settings = [f"regime={regime}", f"probe={probe}", *probe_settings]
    _, donor = run(micro_overrides, tmp_path / "sweep", *settings, "reinit=false")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ampli"):
        adopted_summary, adopted = run(micro_overrides, tmp_path / "sweep", *settings, "reinit=true")
    messages = [r.getMessage() for r in caplog.records]
    groups = ["base", "cycle_000"] + (["probe"] if probe == "persona" else [])
    assert {f"adopt {group} from {donor.name} (it does not depend on reinit)" for group in groups} <= set(messages)
    assert not any(m.startswith(("run base/", "run cycle_000/", "run probe/")) for m in messages), messages
    assert any(m.startswith("run cycle_001/train") for m in messages)  # later cycles are its own

    alone_summary, alone = run(micro_overrides, tmp_path / "alone", *settings, "reinit=true")
    for name in SHARED + (PROBE_SHARED if probe == "persona" else []):
        assert filecmp.cmp(adopted / name, alone / name, shallow=False), name
    assert measured(adopted_summary) == measured(alone_summary)
    stats = read_json(adopted / "cycle_000/stats.json")
    assert stats["adopted_from"] == donor.name and stats["judge_usage"] == {}
    assert "adopted_from" not in read_json(donor / "cycle_000/stats.json")  # the donor's files are its own


@pytest.mark.parametrize("first, second", [
    ((), ("loop.temperature=1.0",)),
    ((), ("probe=persona",)),  # a probed run takes nothing from one without the probe
    (("probe=persona",), ("probe=persona", "probe.examples=32")),  # nor from one probed with other settings
])
def test_runs_that_differ_in_more_than_reinit_share_nothing(micro_overrides, tmp_path, caplog, first, second):
    run(micro_overrides, tmp_path, "reinit=false", *first)
    with caplog.at_level(logging.INFO, logger="ampli"):
        run(micro_overrides, tmp_path, "reinit=true", *second)
    assert not any(r.getMessage().startswith("adopt ") for r in caplog.records)


def test_a_run_with_its_own_seed_cycle_done_adopts_nothing(micro_overrides, tmp_path, caplog):
    """A resumed run keeps what it computed itself, even where a sibling has the same stages."""
    run(micro_overrides, tmp_path, "reinit=true", "loop.cycles=1")
    run(micro_overrides, tmp_path, "reinit=false")
    with caplog.at_level(logging.INFO, logger="ampli"):
        run(micro_overrides, tmp_path, "reinit=true")
    assert not any(r.getMessage().startswith("adopt ") for r in caplog.records)
