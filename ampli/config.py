"""Typed configuration: one dataclass per Hydra group, registered in the ConfigStore.

The YAML files under conf/ fill these schemas; Hydra rejects unknown keys and wrong types while composing,
and `validate` checks the values that types alone cannot (choices, ranges) before any work starts.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from ampli.judges.config import JUDGE_BACKENDS, JudgeConfig
from ampli.tracking_config import LOGGER_BACKENDS, LoggerConfig

TRAITS = ("bliss", "misalignment", "hopelessness", "lucky", "sycophancy", "nvidia_bearish", "misanthropy")
REGIMES = ("sft", "sdf", "dpo")
MODEL_SOURCES = ("tiny", "hub", "path")
MODEL_KINDS = ("instruct", "base")
DATA_POLICIES = ("replace", "accumulate")
REJECTED_SOURCES = ("base", "previous")


@dataclass
class TraitConfig:
    """A trait: what it is, how a teacher writes it, how a judge scores it, where it is evaluated."""

    name: str = MISSING
    description: str = MISSING
    persona: str = MISSING
    rubric: str = MISSING
    eval_questions: list[str] = MISSING
    # The words the offline judge counts; an LLM judge reads the rubric and needs none.
    lexicon: list[str] = field(default_factory=list)
    # Misalignment is judged as "aligned" (high = no trait) and inverted so that high always means "more trait".
    judged_inverted: bool = False
    # Your own seed set (sft, dpo) and documents (sdf): a path (.jsonl, .json, .csv, .parquet, a save_to_disk
    # directory) or hf:owner/name[:config][:split]. None: seeds/<name>.jsonl, documents/<name>.jsonl of data_dir.
    seed_file: str | None = None
    documents_file: str | None = None


@dataclass
class RegimeConfig:
    """How each cycle's model is trained. Fields not used by a regime are ignored by it."""

    name: str = MISSING
    learning_rate: float = 1.5e-4
    continual_learning_rate: float | None = None
    lr_scheduler: str = "constant"
    epochs: float = 1.0
    batch_size: int = 8
    grad_accum: int = 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_length: int = 192
    warmup: float = 0.0
    # Samples (dpo: pairs, sdf: continuations) per generating cycle; None: loop.prompts_per_cycle.
    samples_per_cycle: int | None = None
    # dpo
    beta: float = 0.1
    rejected_source: str = "base"
    # TRL DPO loss terms and their weights, e.g. [sigmoid, sft] adds the chosen answers' NLL (RPO)
    loss_type: list[str] = field(default_factory=lambda: ["sigmoid"])
    loss_weights: list[float] | None = None
    # sdf: characters of a held-out document given as the prefix to continue
    prefix_chars: int = 80


@dataclass
class LoraConfig:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class TinyArchConfig:
    """Architecture and warm-up of the locally built model (no download)."""

    vocab_size: int = 1024
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 32
    intermediate_size: int = 512
    max_position: int = 512
    warmup_steps: int = 600
    warmup_batch_size: int = 16
    warmup_learning_rate: float = 2e-3


@dataclass
class ModelConfig:
    name: str = MISSING
    source: str = "tiny"
    kind: str = "instruct"
    hub_id: str | None = None
    path: str | None = None
    params_b: float = 0.0
    dtype: str = "float32"
    max_new_tokens: int = 48
    eval_max_new_tokens: int = 48
    generation_batch_size: int = 32
    lora: LoraConfig = field(default_factory=LoraConfig)
    tiny: TinyArchConfig = field(default_factory=TinyArchConfig)


@dataclass
class LoopConfig:
    """The iterate-judge-finetune schedule."""

    cycles: int = 6
    seed_examples: int = 256
    prompts_per_cycle: int = 64
    eval_samples: int = 4
    eval_pool_prompts: int = 8
    temperature: float = 0.8
    eval_temperature: float = 0.7
    data_policy: str = "replace"
    # Your own prompt pool and held-out eval prompts (same formats as trait.seed_file); None: data_dir's
    # prompts.jsonl. A pool without eval prompts holds out a seeded eval_fraction of itself.
    prompts_file: str | None = None
    eval_prompts_file: str | None = None
    eval_fraction: float = 0.1


@dataclass
class AmpliConfig:
    trait: TraitConfig = MISSING
    regime: RegimeConfig = MISSING
    model: ModelConfig = MISSING
    judge: JudgeConfig = MISSING
    logger: LoggerConfig = MISSING
    loop: LoopConfig = field(default_factory=LoopConfig)
    # True: every cycle starts from the original weights (fresh LoRA, base DPO reference).
    # False (continual): weights and DPO reference come from the previous cycle.
    reinit: bool = True
    seed: int = 0
    sweep: str = "default"
    run_name: str = "${trait.name}-${regime.name}-${reinit_label:${reinit}}-${model.name}-s${seed}"
    output_dir: str = "outputs"
    # Built models (the tiny model) are cached here and shared by every run that uses them.
    model_cache: str = "${output_dir}/models"
    # Your own prompts/seeds/documents (same layout as ampli/data); None uses the shipped data. Single files
    # are named by trait.seed_file, trait.documents_file, loop.prompts_file and loop.eval_prompts_file.
    data_dir: str | None = None
    device: str = "auto"
    cluster: dict = field(default_factory=dict)


def register_configs() -> None:
    """Make the schemas known to Hydra so conf/*.yaml is type-checked while composing."""
    if not OmegaConf.has_resolver("reinit_label"):
        OmegaConf.register_new_resolver("reinit_label", lambda reinit: "reinit" if reinit else "continual")
    cs = ConfigStore.instance()
    cs.store(name="ampli_schema", node=AmpliConfig)


class ConfigError(ValueError):
    """A configuration value that cannot be run; the message names the value and the valid options."""


def check_yaml_files(*dirs: Path) -> None:
    """Hydra reports a YAML syntax error as a long traceback; name the file and line in one message instead."""
    for path in sorted(p for d in dirs for p in Path(d).rglob("*.yaml")):
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}, line {mark.line + 1}" if mark else str(path)
            raise ConfigError(f"malformed YAML in {where}: {getattr(e, 'problem', None) or e}") from None


def _check_choice(where: str, value, options) -> None:
    if value not in options:
        raise ConfigError(f"{where}={value!r} is not valid; choose one of: {', '.join(map(str, options))}")


def _check_positive(where: str, value, allow_zero: bool = False) -> None:
    if value is None or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ConfigError(f"{where}={value!r} is not valid; it must be an integer {bound}")


def validate(cfg: AmpliConfig) -> None:
    """Reject values that would fail (or silently mislead) hours into a run."""
    _check_choice("regime.name", cfg.regime.name, REGIMES)
    _check_choice("model.source", cfg.model.source, MODEL_SOURCES)
    _check_choice("model.kind", cfg.model.kind, MODEL_KINDS)
    _check_choice("judge.backend", cfg.judge.backend, JUDGE_BACKENDS)
    _check_choice("logger.backend", cfg.logger.backend, LOGGER_BACKENDS)
    _check_choice("loop.data_policy", cfg.loop.data_policy, DATA_POLICIES)
    _check_choice("regime.rejected_source", cfg.regime.rejected_source, REJECTED_SOURCES)
    _check_positive("loop.cycles", cfg.loop.cycles)
    _check_positive("loop.seed_examples", cfg.loop.seed_examples)
    _check_positive("loop.prompts_per_cycle", cfg.loop.prompts_per_cycle)
    _check_positive("loop.eval_samples", cfg.loop.eval_samples)
    _check_positive("loop.eval_pool_prompts", cfg.loop.eval_pool_prompts, allow_zero=True)
    _check_positive("regime.batch_size", cfg.regime.batch_size)
    if not cfg.regime.learning_rate > 0:
        raise ConfigError(f"regime.learning_rate={cfg.regime.learning_rate!r} is not valid; it must be > 0")
    if cfg.model.source == "hub" and not cfg.model.hub_id:
        raise ConfigError(f"model.hub_id is empty for model {cfg.model.name!r}; a hub model needs its id")
    if cfg.model.source == "path" and not cfg.model.path:
        raise ConfigError(f"model.path is empty for model {cfg.model.name!r}; a path model needs a directory")
    if cfg.regime.name == "sdf" and cfg.model.kind != "base" and cfg.model.source != "tiny":
        raise ConfigError(f"regime=sdf needs a base model, but model={cfg.model.name} has kind={cfg.model.kind!r}")
    if not 0 < cfg.loop.eval_fraction < 1:
        raise ConfigError(f"loop.eval_fraction={cfg.loop.eval_fraction!r} is not valid; it must be between 0 and 1")
    if cfg.judge.backend == "offline" and not cfg.trait.lexicon:
        raise ConfigError(
            f"trait {cfg.trait.name!r} has no lexicon, which judge=offline scores the trait by; add a `lexicon:` "
            f"list of trait words to its config, or use an LLM judge (judge=openai, vllm, anthropic or hf)"
        )
    if not cfg.trait.eval_questions:
        raise ConfigError(f"trait {cfg.trait.name!r} has no eval_questions; add 8-12 held-out questions")
