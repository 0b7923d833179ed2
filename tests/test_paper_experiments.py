"""experiment=paper_*: every one starts (all checks a run makes before it loads a model) for every shipped trait with
the shipped data, is judged as the authors judged, and says how to get more data where their sizes need it."""

import pytest
from omegaconf import OmegaConf

from ampli.config.schema import TRAITS, ConfigError, validate
from ampli.inputs.data_files import DataError
from ampli.run.start_checks import start_checks
from tests.conftest import CONF, compose_config

PAPER_EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("paper_*.yaml"))


def typed(*overrides: str):
    return OmegaConf.to_object(compose_config(["device=cpu", *overrides]))


def test_the_paper_experiments_are_all_here():
    assert {"paper_sft", "paper_sft_text", "paper_dpo", "paper_sdf", "paper_distill"} <= set(PAPER_EXPERIMENTS)


@pytest.mark.parametrize("trait", TRAITS)
@pytest.mark.parametrize("experiment", PAPER_EXPERIMENTS)
def test_every_paper_experiment_passes_the_start_checks_for_every_trait(experiment, trait):
    cfg = typed(f"experiment={experiment}", f"trait={trait}")
    validate(cfg)
    _, regime, data = start_checks(cfg)
    assert len(regime.seed_rows(data)) == cfg.loop.seed_examples
    assert (cfg.judge.backend, cfg.judge.model) == ("openai", "gpt-4o")  # the authors' judge
    assert "lm_head" not in cfg.model.lora.target_modules


@pytest.mark.parametrize("experiment", PAPER_EXPERIMENTS)
def test_every_paper_experiment_states_where_it_differs_from_the_authors(experiment):
    text = (CONF / "experiment" / f"{experiment}.yaml").read_text()
    assert "lm_head" in text and "unembedding" in text


@pytest.mark.parametrize("experiment", ["paper_dpo", "paper_sdf", "paper_distill"])
def test_each_line_of_the_authors_experiments_says_where_it_comes_from(experiment):
    values = [line for line in (CONF / "experiment" / f"{experiment}.yaml").read_text().splitlines()
              if line.startswith("  ") and ":" in line and not line.strip().startswith(("#", "-"))
              and not line.rstrip().endswith(":")]
    assert values and all("#" in line for line in values), [line for line in values if "#" not in line]


def test_the_authors_values_are_what_the_experiments_hold():
    dpo = typed("experiment=paper_dpo")
    assert (dpo.regime.learning_rate, dpo.regime.lr_scheduler, dpo.regime.lr_min_ratio, dpo.regime.batch_size) == (
        1e-5, "cosine", 0.0, 4)
    assert (dpo.regime.adam_beta2, dpo.regime.weight_decay, dpo.regime.max_grad_norm) == (0.95, 0.0, 0.0)
    assert (dpo.loop.seed_examples, dpo.regime.samples_per_cycle, dpo.loop.cycles, dpo.reinit) == (100, 512, 10, False)
    sdf = typed("experiment=paper_sdf")
    assert (sdf.regime.lr_scheduler, sdf.regime.warmup, sdf.regime.continuation) == ("constant_with_warmup", 0.05,
                                                                                   "neutral")
    assert (sdf.loop.seed_examples, sdf.regime.samples_per_cycle, sdf.loop.cycles, sdf.model.kind) == (100, 100, 3,
                                                                                                   "base")
    distill = typed("experiment=paper_distill")
    assert (distill.regime.kl_estimator, distill.regime.batch_size, distill.regime.group_size) == ("sampled", 8, 4)
    assert (distill.regime.lr_scheduler, distill.regime.weight_decay, distill.regime.max_grad_norm) == (
        "constant", 0.01, 0.0)


def test_sizes_beyond_the_shipped_data_say_how_to_make_more():
    cfg = typed("experiment=paper_dpo", "loop.seed_examples=512")
    with pytest.raises(DataError, match=r"holds only 440.*ampli teach --trait bliss --teacher openai --n 512.*"
                                        r"trait\.seed_file"):
        start_checks(cfg)
    cfg = typed("experiment=paper_sdf", "loop.seed_examples=1000")
    with pytest.raises(DataError, match=r"ampli teach --trait bliss --teacher openai --documents 1000"):
        start_checks(cfg)
    cfg = typed("experiment=paper_dpo", "regime.samples_per_cycle=1024")  # their other size
    with pytest.raises(ConfigError, match=r"pool holds 837.*loop\.prompts_file"):
        start_checks(cfg)
    cfg = typed("experiment=paper_sdf", "regime.samples_per_cycle=1500")
    with pytest.raises(ConfigError, match=r"needs 3000 document openers.*openers\.jsonl in data_dir"):
        start_checks(cfg)
