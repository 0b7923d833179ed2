"""The embedded tiny model's own settings (conf/tuned/) apply to it alone, and cluster=pool runs a sweep's jobs
side by side: config composition only (fast)."""

import pytest
from omegaconf import OmegaConf

from ampli.config.schema import REGIMES, LoopConfig, validate
from ampli.inputs.sampling import cycle_size
from tests.conftest import compose_config
from tests.test_slurm_config import compose_cfg


def typed(*overrides: str):
    return OmegaConf.to_object(compose_config(list(overrides)))


@pytest.mark.parametrize("regime", REGIMES)
def test_tiny_trains_every_cycle_on_as_many_examples_as_the_seed_cycle(regime):
    cfg = typed(f"regime={regime}")
    assert cfg.model.name == "tiny"
    assert cycle_size(cfg)[0] == cfg.loop.seed_examples
    assert cfg.loop.cycles >= 5  # the paper's rule looks at cycles >= 4


@pytest.mark.parametrize("regime", REGIMES)
def test_every_regime_runs_on_the_embedded_default_as_composed(regime):
    validate(typed(f"regime={regime}"))  # e.g. distill refuses a coherence filter, which tiny.yaml sets


def test_the_matched_size_follows_a_changed_seed_count():
    assert cycle_size(typed("regime=sdf", "loop.seed_examples=32"))[0] == 32


@pytest.mark.parametrize("overrides", [("model=smollm2-135m", "regime=dpo"), ("model=qwen3-4b-instruct",),
                                       ("model=micro", "regime=sdf")])
def test_other_models_keep_the_regime_and_loop_defaults(overrides):
    cfg = compose_config(list(overrides))
    regime = OmegaConf.load(f"conf/regime/{cfg.regime.name}.yaml")
    assert {k: cfg.regime[k] for k in regime} == OmegaConf.to_container(regime)
    defaults = LoopConfig()
    assert (cfg.loop.seed_examples, cfg.loop.prompts_per_cycle, cfg.loop.prompt_sampling) == (
        defaults.seed_examples, defaults.prompts_per_cycle, defaults.prompt_sampling)


@pytest.mark.parametrize("regime", ["sft", "sdf", "dpo", "distill"])
def test_paper_experiments_are_untouched_by_the_tiny_settings(regime):
    cfg = compose_config([f"experiment=paper_{regime}"])
    experiment = OmegaConf.load(f"conf/experiment/paper_{regime}.yaml")
    for group in ("regime", "loop"):
        for key, value in experiment.get(group, {}).items():
            if OmegaConf.is_dict(value):  # a nested setting: the keys the experiment names
                assert {k: cfg[group][key][k] for k in value} == value, f"{group}.{key}"
            else:
                assert cfg[group][key] == value, f"{group}.{key}"
    assert cfg.model.name != "tiny"


def test_pool_runs_one_job_per_core_handing_out_one_job_at_a_time():
    launcher = compose_cfg("cluster=pool").hydra.launcher
    assert launcher._target_.endswith("ampli_pool_launcher.pool_launcher.AmpliPoolLauncher")  # one job at a time
    assert launcher.n_jobs == -1
    assert compose_cfg("cluster=pool", "cluster.n_jobs=3").hydra.launcher.n_jobs == 3
