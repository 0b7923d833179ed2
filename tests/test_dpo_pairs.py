"""DPO pair construction and reference choice, as the paper's protocol states them."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ampli.models.training_plan import BASE, plan_cycle
from ampli.record.store import read_json, read_jsonl
from ampli.regimes.dpo import pair_sources
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides


def test_cycle0_prefers_the_seed_answer_over_the_base_model():
    assert pair_sources(0, "base") == ("seed", BASE)
    assert pair_sources(0, "previous") == ("seed", BASE)


@pytest.mark.parametrize("cycle", [1, 2, 5])
def test_later_cycles_prefer_model_n_minus_1_over_the_base(cycle):
    assert pair_sources(cycle, "base") == (cycle - 1, BASE)


def test_rejected_from_model_n_minus_2_falls_back_to_base_at_cycle_1():
    assert pair_sources(1, "previous") == (0, BASE)
    assert pair_sources(2, "previous") == (1, 0)
    assert pair_sources(6, "previous") == (5, 4)


def plan(cycle: int, *overrides: str):
    return plan_cycle(OmegaConf.to_object(compose_config(["regime=dpo", *overrides])), cycle, examples=8)


@pytest.mark.parametrize("cycle", [0, 1, 4])
def test_reinit_always_uses_the_base_model_as_reference(cycle):
    assert plan(cycle, "reinit=true").reference == plan(cycle, "reinit=true").start == BASE


def test_continual_uses_the_previous_model_as_reference_but_at_a_restart():
    assert plan(0, "reinit=false").reference == BASE
    assert [plan(c, "reinit=false").reference for c in (1, 2, 3)] == [0, 1, 2]
    restarted = [plan(c, "reinit=false", "regime.restart_from_base_cycles=[2]") for c in (1, 2, 3)]
    assert [(p.start, p.reference) for p in restarted] == [(0, 0), (BASE, BASE), (2, 2)]


@pytest.mark.parametrize("reinit", ["true", "false"])
def test_the_trainer_gets_the_reference_the_protocol_names(micro_overrides, reinit):
    overrides = with_overrides(micro_overrides, "regime=dpo", f"reinit={reinit}", "regime.rejected_source=previous",
                               "loop.cycles=3")
    summary = Run(compose_config(overrides)).run()
    run_dir = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir="))) / "runs" / summary["run_name"]
    for cycle in (0, 1, 2):
        train = read_json(run_dir / f"cycle_{cycle:03d}" / "train.json")
        pairs = read_jsonl(run_dir / f"cycle_{cycle:03d}" / "generations.jsonl")
        chosen, rejected = {p["chosen_from"] for p in pairs}, {p["rejected_from"] for p in pairs}
        assert chosen == {"seed" if cycle == 0 else f"model_{cycle - 1}"}
        assert rejected == {"base" if cycle < 2 else f"model_{cycle - 2}"}
        if reinit == "true" or cycle == 0:
            assert train["reference"] == "base" and "cycle_" not in train["reference_weights"]
        else:
            assert train["reference"] == f"model_{cycle - 1}"
            assert train["reference_weights"].endswith(f"cycle_{cycle - 1:03d}/checkpoint")
