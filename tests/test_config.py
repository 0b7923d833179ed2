"""Config composition for every option of every group, and clear errors for bad overrides."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from ampli.config import REGIMES, TRAITS, AmpliConfig, ConfigError, validate
from tests.conftest import CONF, compose_config


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def typed(overrides: list[str]) -> AmpliConfig:
    cfg = OmegaConf.to_object(compose_config(overrides))
    validate(cfg)
    return cfg


def test_every_trait_of_the_paper_has_a_config():
    assert set(TRAITS) <= set(options("trait"))
    assert set(REGIMES) <= set(options("regime"))


@pytest.mark.parametrize("group", ["trait", "regime", "model", "judge", "logger", "cluster", "experiment"])
def test_every_group_option_composes_and_validates(group, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    for option in options(group):
        extra = ["model=qwen3-1.7b-base"] if (group, option) == ("regime", "sdf") else []
        cfg = typed([f"{group}={option}", *extra])
        assert isinstance(cfg, AmpliConfig)
        if group in ("trait", "regime", "model", "judge", "logger"):
            assert getattr(cfg, group).name == option


def test_defaults_are_the_embedded_offline_setup():
    cfg = typed([])
    assert (cfg.model.name, cfg.model.source, cfg.judge.backend, cfg.regime.name) == ("tiny", "tiny", "offline", "sft")
    assert cfg.reinit is True
    assert cfg.run_name == "bliss-sft-reinit-tiny-s0"


def test_reinit_is_a_boolean_on_the_command_line():
    assert typed(["reinit=false"]).run_name == "bliss-sft-continual-tiny-s0"
    with pytest.raises(ConfigCompositionException):
        compose_config(["reinit=sometimes"])


@pytest.mark.parametrize("group,bad", [("trait", "joy"), ("regime", "rlhf"), ("model", "gpt5"), ("judge", "oracle")])
def test_unknown_group_option_lists_the_valid_ones(group, bad):
    with pytest.raises(ConfigCompositionException) as e:
        compose_config([f"{group}={bad}"])
    message = str(e.value)
    assert bad in message and "Available options" in message
    assert options(group)[0] in message


def test_wrong_types_and_unknown_keys_are_rejected_while_composing():
    with pytest.raises(ConfigCompositionException, match="loop.cycles"):
        compose_config(["loop.cycles=many"])
    with pytest.raises(ConfigCompositionException, match="colour"):
        compose_config(["loop.colour=red"])


@pytest.mark.parametrize(
    "override,needle",
    [
        ("loop.cycles=0", "loop.cycles=0 is not valid"),
        ("loop.cycles=-2", "loop.cycles=-2 is not valid"),
        ("loop.prompts_per_cycle=0", "loop.prompts_per_cycle=0"),
        ("loop.data_policy=hoard", "choose one of: replace, accumulate"),
        ("regime.rejected_source=n-3", "choose one of: base, previous"),
        ("model.dtype=int3", "model.dtype='int3' is not valid; choose one of: auto, float32, bfloat16, float16"),
        ("device=gpu", "device='gpu' is not valid; choose one of: auto, cpu, cuda, cuda:N"),
        ("regime.max_length=0", "regime.max_length=0 is not valid"),
    ],
)
def test_bad_values_name_the_value_and_the_options(override, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        typed([override])


def test_sdf_refuses_an_instruct_hub_model():
    with pytest.raises(ConfigError, match="regime=sdf needs a base model"):
        typed(["regime=sdf", "model=qwen3-4b-instruct"])
