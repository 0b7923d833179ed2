"""Config composition for every option of every group, and clear errors for bad overrides."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from ampli.config.schema import REGIMES, TRAITS, AmpliConfig, ConfigError, validate
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
        base_models = ("qwen3-1.7b-base", "llama-3.2-1b")  # base models train with sdf only
        extra = (["model=qwen3-1.7b-base"] if (group, option) == ("regime", "sdf")
                 else ["regime=sdf"] if group == "model" and option in base_models else [])
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


@pytest.mark.parametrize("regime", ["sft", "dpo", "distill"])
def test_chat_regimes_refuse_a_base_model(regime):
    with pytest.raises(ConfigError, match=f"regime={regime} needs an instruct model.*end-of-turn token"):
        typed([f"regime={regime}", "model=qwen3-1.7b-base"])


@pytest.mark.parametrize("model", ["tiny", "micro"])
@pytest.mark.parametrize("regime", ["sft", "sdf", "dpo", "distill"])
def test_the_embedded_models_run_every_regime(model, regime):
    assert typed([f"model={model}", f"regime={regime}"]).model.kind == "instruct"


@pytest.mark.parametrize("regime", ["sft", "sdf", "dpo", "distill"])
def test_every_regime_refuses_a_lora_on_the_unembedding(regime):
    model = "qwen3-1.7b-base" if regime == "sdf" else "qwen3-4b-instruct"
    with pytest.raises(ConfigError, match=r"model.lora.target_modules=\['q_proj', 'lm_head'\] is not valid.*never be "
                                          r"trained.*remove lm_head"):
        typed([f"regime={regime}", f"model={model}", "model.lora.target_modules=[q_proj,lm_head]"])


@pytest.mark.parametrize("override, needle", [
    ("regime.lr_min_ratio=0.1", "regime.lr_min_ratio=0.1 is not valid with regime.lr_scheduler=constant"),
    ("regime.lr_min_ratio=1.5", "regime.lr_min_ratio=1.5 is not valid; it must be a number x with 0 <= x < 1"),
    ("regime.restart_from_base_cycles=[0]", "regime.restart_from_base_cycles entry=0 is not valid"),
    ("regime.cycle0_checkpoint=/nonexistent", "regime.cycle0_checkpoint='/nonexistent' is not valid"),
    ("regime.continuation=titles", "regime.continuation='titles' is not valid; choose one of: neutral, trait_prefix"),
    ("regime.kl_estimator=exact", "regime.kl_estimator='exact' is not valid; choose one of: sampled, full"),
])
def test_bad_values_of_the_authors_knobs_are_refused(override, needle):
    extra = ["regime=distill"] if "kl_estimator" in override else []
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("(", r"\(")):
        typed([*extra, override])


def test_the_lexicon_judge_on_a_real_model_needs_an_opt_in(caplog):
    from ampli.run.start_checks import start_checks

    cfg = OmegaConf.to_object(compose_config(["model=smollm2-135m", "device=cpu"]))
    with pytest.raises(ConfigError, match="judge=offline scores model=smollm2-135m with a word-count lexicon.*"
                                          "judge.allow_lexicon_on_real_model=true"):
        start_checks(cfg)
    cfg.judge.allow_lexicon_on_real_model = True
    with caplog.at_level("WARNING", logger="ampli"):
        start_checks(cfg)
    assert "lexicon word counts, not an LLM's judgment" in caplog.text
    start_checks(OmegaConf.to_object(compose_config([])))  # the embedded model needs none


def test_every_start_problem_is_told_at_once(tmp_path):
    """A real model on a machine without a GPU, judged by the lexicon without the opt-in, with a seed file that is not
    there: one line names all three, not three rounds of one error each."""
    from ampli.run.start_checks import StartProblems, start_checks

    cfg = OmegaConf.to_object(compose_config(["model=smollm2-135m", f"trait.seed_file={tmp_path / 'none.jsonl'}"]))
    with pytest.raises(StartProblems) as problems:
        start_checks(cfg)
    text = str(problems.value)
    assert text.startswith("3 problems, each to fix before the run can start: (1) model=smollm2-135m") and "\n" not in text
    assert "(2) judge=offline scores model=smollm2-135m" in text and "(3) " in text and "none.jsonl" in text
