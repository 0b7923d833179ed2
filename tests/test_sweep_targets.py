"""`make sweep-*` compose the paper's experiment for their regime (model, training settings), not the embedded
model's defaults."""

import shlex

import pytest

from tests.conftest import compose_config
from tests.test_slurm_config import make_dry_run


def sweep_overrides(target: str, *make_vars: str) -> list[str]:
    """The overrides a sweep target passes to launch.py, each sweep list cut to its first value."""
    args = shlex.split(make_dry_run(target, *make_vars))
    overrides = args[args.index("-m") + 1:]
    return [o.split(",")[0] for o in overrides]


def composed(target: str, *make_vars: str):
    return compose_config([o for o in sweep_overrides(target, *make_vars) if not o.startswith("cluster=")])


def experiment(name: str):
    return compose_config([f"experiment={name}"])


@pytest.mark.parametrize("target, regime", [("sweep-sft", "sft"), ("sweep-sdf", "sdf"), ("sweep-dpo", "dpo")])
def test_each_target_composes_its_paper_experiment(target, regime):
    cfg, paper = composed(target), experiment(f"paper_{regime}")
    assert cfg.regime == paper.regime and cfg.model == paper.model and cfg.loop == paper.loop
    assert cfg.regime.name == regime and cfg.model.source == "hub"
    assert "cluster=slurm" in sweep_overrides(target)


def test_sweep_dpo_trains_with_the_papers_dpo_settings():
    cfg = composed("sweep-dpo")
    assert cfg.model.name == "qwen3.5-9b"
    assert (cfg.regime.learning_rate, list(cfg.regime.loss_type), cfg.regime.batch_size) == (1e-5, ["sigmoid"], 4)
    assert (cfg.loop.cycles, cfg.loop.eval_samples, cfg.regime.max_length) == (10, 20, None)


def test_another_real_model_keeps_the_paper_settings():
    cfg = composed("sweep-sft", "MODEL=qwen3-8b")
    assert cfg.model.name == "qwen3-8b" and cfg.regime == experiment("paper_sft").regime


def test_the_embedded_model_uses_its_own_defaults():
    cfg = composed("sweep-dpo", "MODEL=tiny", "CLUSTER=local")
    assert cfg.model.name == "tiny" and cfg.regime == compose_config(["regime=dpo"]).regime
    assert "cluster=local" in sweep_overrides("sweep-dpo", "MODEL=tiny", "CLUSTER=local")
