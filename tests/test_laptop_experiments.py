"""experiment=demo_real and experiment=contrast_real: the real-model runs meant for a laptop's CPU start (every check a
run makes before it loads a model) for the traits make paper-table-real sweeps, offline and without truncation."""

import re

import pytest

from ampli.config.schema import validate
from ampli.run.start_checks import start_checks
from tests.conftest import ROOT
from tests.test_paper_experiments import typed

LAPTOP_EXPERIMENTS = ["demo_real", "contrast_real"]


def make_default(name: str) -> str:
    """A variable's default for the paper-table-real target, as the Makefile sets it."""
    [value] = re.findall(rf"^paper-table-real: {name} = (.+)$", (ROOT / "Makefile").read_text(), re.M)
    return value


@pytest.mark.parametrize("trait", make_default("TRAITS").split(","))
@pytest.mark.parametrize("experiment", LAPTOP_EXPERIMENTS)
def test_each_laptop_experiment_passes_the_start_checks(experiment, trait):
    cfg = typed(f"experiment={experiment}", f"trait={trait}")
    validate(cfg)
    _, regime, data = start_checks(cfg)
    assert len(regime.seed_rows(data)) == cfg.loop.seed_examples
    assert cfg.device == "cpu" and cfg.judge.backend == "offline"  # nothing to download, no API
    assert cfg.regime.max_length is None  # the loop sizes it to the longest sample: nothing is cut
    assert cfg.model.lora.r > 0


def test_the_contrast_grid_is_the_one_the_readme_reports():
    cfg = typed("experiment=contrast_real")
    assert (cfg.regime.name, cfg.probe.name, cfg.loop.cycles) == ("dpo", "persona", 5)  # the rule reads cycle >= 4
    assert make_default("SEEDS") == "0,1,2"  # settings were chosen on these seeds only
    assert "SmolLM2-135M-Instruct" in cfg.model.name or "smollm2" in cfg.model.name.lower()
