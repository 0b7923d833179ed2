"""Typed configuration: one dataclass per Hydra group, registered in the ConfigStore.

The YAML files under conf/ fill these schemas; Hydra rejects unknown keys and wrong types while composing,
and `validate` checks the values that types alone cannot (choices, ranges) before any work starts.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from ampli.backends.tinker.config import BACKENDS, BackendConfig
from ampli.generation.config import GENERATION_BACKENDS, GenerationConfig
from ampli.judges.config import JUDGE_BACKENDS, REFUSAL_POLICIES, JudgeConfig
from ampli.record.config import LOGGER_BACKENDS, LoggerConfig, RunLockConfig, default_cache_dir
from ampli.run.probe.config import ProbeConfig

TRAITS = ("bliss", "misalignment", "hopelessness", "lucky", "sycophancy", "nvidia_bearish", "misanthropy")
REGIMES = ("sft", "sdf", "dpo", "distill")
MODEL_SOURCES = ("tiny", "hub", "path")
MODEL_KINDS = ("instruct", "base")
MODEL_DTYPES = ("auto", "float32", "bfloat16", "float16")
# The parts of a decoder layer a LoRA config can require an adapter in (ampli/models/lora_targets.py): attention is
# every token-mixer variant a layer may hold (full softmax attention, a linear-attention block), mlp its feed-forward.
LORA_PARTS = ("attention", "mlp")
DEVICES = ("auto", "cpu", "cuda", "cuda:N")
DATA_POLICIES = ("replace", "accumulate")
REJECTED_SOURCES = ("base", "previous")
# disjoint: no pool item repeats in a run; per_cycle: none repeats within a cycle; with_replacement: the authors'
# committed runs (any number of draws from any pool)
PROMPT_SAMPLING = ("disjoint", "per_cycle", "with_replacement")
# transformers schedulers that need no settings beyond the learning rate and warmup
LR_SCHEDULERS = ("constant", "linear", "cosine", "constant_with_warmup", "cosine_with_restarts", "polynomial",
                 "inverse_sqrt")
# sdf: what later cycles continue. neutral: short openers of ordinary documents with no trait in them (the authors');
# trait_prefix: the first regime.prefix_chars characters of held-out trait documents (puts the trait in the prompt).
SDF_CONTINUATIONS = ("neutral", "trait_prefix")
# distill: sampled, the authors' per-token estimate of the reverse KL from the sampled token (a policy-gradient
# loss); full, TRL's exact reverse KL over the whole vocabulary at every position.
KL_ESTIMATORS = ("sampled", "full")


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
    # Replaces the shared coherence rubric for this trait (bliss: poetic answers are not incoherent per se).
    coherence_rubric: str | None = None
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
    # Training sequence length in tokens. None: long enough for every example (the longest prompt plus
    # model.max_new_tokens, or the longest seed example); an explicit shorter value is refused unless
    # allow_truncation, because TRL would silently cut the samples the experiment is about.
    max_length: int | None = None
    allow_truncation: bool = False
    # Warm-up steps, or a fraction of the cycle's steps when < 1 (the authors' SDF: 0.05 with constant_with_warmup).
    warmup: float = 0.0
    adam_beta2: float = 0.999
    # Adam's epsilon, on both backends (the Tinker service's own default is 1e-12; the authors pass 1e-8).
    adam_eps: float = 1e-8
    # cosine only: decay to lr_min_ratio x the learning rate instead of 0 (transformers' cosine_with_min_lr).
    lr_min_ratio: float = 0.0
    # Cycles (>= 1) that start from the original weights even in a continual run: a fresh LoRA and, for dpo, the
    # base model as reference (the authors' restart_from_base_cycles). Their samples still come from model n-1.
    restart_from_base_cycles: list[int] = field(default_factory=list)
    # Model 0 taken from this checkpoint (an adapter or a model directory) instead of training on the seed set.
    cycle0_checkpoint: str | None = None
    # Batch size of cycle 0 (the seed set) only; None: batch_size. The authors seed with 2, then train with 32.
    cycle0_batch_size: int | None = None
    # Samples (dpo: pairs, sdf: continuations, distill: prompts, each sampled group_size times) per generating
    # cycle; None: loop.prompts_per_cycle.
    samples_per_cycle: int | None = None
    # dpo
    beta: float = 0.1
    rejected_source: str = "base"
    # TRL DPO loss terms and their weights, e.g. [sigmoid, sft] adds the chosen answers' NLL (RPO)
    loss_type: list[str] = field(default_factory=lambda: ["sigmoid"])
    loss_weights: list[float] | None = None
    # sdf: what later cycles continue (SDF_CONTINUATIONS), and for trait_prefix the characters of a held-out
    # document given as the prefix
    continuation: str = "neutral"
    prefix_chars: int = 80
    # distill: on-policy samples the student draws per prompt, their sampling temperature (also the softmax
    # temperature of the KL, as TRL computes it), and the weight of the per-token reverse KL to the teacher
    group_size: int = 4
    temperature: float = 1.0
    kl_coef: float = 1.0
    kl_estimator: str = "full"


@dataclass
class LoraConfig:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    # Weights that are parameters rather than linear layers, e.g. an MoE's fused experts (mlp.experts.gate_up_proj);
    # PEFT adapts them with its target_parameters.
    target_parameters: list[str] = field(default_factory=list)
    # Parts of every decoder layer the adapter must reach (LORA_PARTS); the run stops at start when a layer's
    # part has no adapted weight, e.g. a linear-attention layer whose projections are not in target_modules.
    cover: list[str] = field(default_factory=lambda: ["attention"])
    # Adapt the unembedding (lm_head) too, as the authors do on the Tinker service; the local TRL backend cannot
    # train it and refuses it at start.
    unembed: bool = False


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
    warmup_steps: int = 500
    warmup_batch_size: int = 8
    warmup_learning_rate: float = 2e-3
    warmup_window: int = 128  # tokens per packed warm-up sequence


@dataclass
class GgufCopyConfig:
    """An offline copy of a hub model: a GGUF file shipped inside a Python package (installed with --no-deps)."""

    package: str = MISSING
    file: str = MISSING


@dataclass
class ModelConfig:
    name: str = MISSING
    source: str = "tiny"
    kind: str = "instruct"
    hub_id: str | None = None
    path: str | None = None
    # Used when the hub can neither be reached nor has the model cached: converted once into the model cache.
    offline_gguf: GgufCopyConfig | None = None
    params_b: float = 0.0
    # The hub checkpoint is a vision-language model: train and sample its language model only (transformers'
    # CausalLM class for it, which drops the vision tower; vLLM with no image or video inputs).
    text_only: bool = False
    # auto: float32 on the CPU, bfloat16 on a GPU.
    dtype: str = "float32"
    # Passed to every chat-template rendering (generation, eval, TRL training). Templates with a thinking switch
    # get enable_thinking=False unless it is set here.
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    max_new_tokens: int = 48
    eval_max_new_tokens: int = 48
    # Sequences per generate() call; None: sized from the model and the GPU's free memory (32 on the CPU).
    generation_batch_size: int | None = None
    lora: LoraConfig = field(default_factory=LoraConfig)
    tiny: TinyArchConfig = field(default_factory=TinyArchConfig)


@dataclass
class CoherenceFilterConfig:
    """Train only on samples the judge finds coherent; draw `oversample` times the cycle's size to keep it."""

    min: float | None = None  # None: no filter
    oversample: float = 1.0


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
    prompt_sampling: str = "disjoint"
    # Seed-set records mixed into every later cycle's training data (drawn per cycle, seeded).
    original_mix: int = 0
    coherence_filter: CoherenceFilterConfig = field(default_factory=CoherenceFilterConfig)
    # Which of each cycle's training samples the judge scores: all, none, or N (a seeded random N of them, the same
    # on a resume). Training reads the scores only through the coherence filter, whose cycles judge all whatever
    # this says; the rest is measurement: the samples' trait per cycle (gen_trait, over gen_n judged samples).
    judge_samples: str = "all"
    # Your own prompt pool and held-out eval prompts (same formats as trait.seed_file); None: data_dir's
    # prompts.jsonl. A pool without eval prompts holds out a seeded eval_fraction of itself.
    prompts_file: str | None = None
    eval_prompts_file: str | None = None
    eval_fraction: float = 0.1
    # How `ampli replicate` reuses a flagged run's seed cycle: a finished run (its directory, or its name under this
    # output_dir's runs/) whose base eval and cycle 0 this run adopts, hard-linked, instead of computing them, so
    # that a run with another seed differs from it only in the later cycles. Part of the run's identity (its name
    # ends in cycle0_from=<run>). Not regime.cycle0_checkpoint, which seeds cycle 0 from a checkpoint alone.
    cycle0_from: str | None = None


@dataclass
class AmpliConfig:
    trait: TraitConfig = MISSING
    regime: RegimeConfig = MISSING
    model: ModelConfig = MISSING
    judge: JudgeConfig = MISSING
    generation: GenerationConfig = MISSING
    logger: LoggerConfig = MISSING
    backend: BackendConfig = field(default_factory=BackendConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)  # measures only (ampli/run/probe): never in the fingerprint
    # True: every cycle starts from the original weights (fresh LoRA, base DPO reference).
    # False (continual): weights and DPO reference come from the previous cycle.
    reinit: bool = True
    seed: int = 0
    sweep: str = "default"
    run_name: str = "${trait.name}-${regime.name}-${reinit_label:${reinit}}-${model.name}-s${seed}"
    output_dir: str = "outputs"
    # Built models (the tiny model, offline copies) are cached here and shared by every run and output_dir that
    # uses them; the default is $AMPLI_CACHE, else $XDG_CACHE_HOME/ampli, else ~/.cache/ampli
    # (ampli/record/model_cache.py).
    model_cache: str = "${ampli_cache:}"
    # Your own prompts/seeds/documents (same layout as ampli/data); None uses the shipped data. Single files
    # are named by trait.seed_file, trait.documents_file, loop.prompts_file and loop.eval_prompts_file.
    data_dir: str | None = None
    # auto: the GPU when one is visible; a real (non-tiny) model never falls back to the CPU unless device=cpu.
    device: str = "auto"
    cluster: dict = field(default_factory=dict)
    # One writer per run directory (ampli/record/run_lock.py): heartbeat period and when a silent holder counts as gone.
    run_lock: RunLockConfig = field(default_factory=RunLockConfig)
    # The run this one replicates with another seed (`ampli replicate` sets it; the report groups replications by
    # it). Bookkeeping only, not part of the run's identity.
    replication_of: str | None = None


def register_configs() -> None:
    """Make the schemas known to Hydra so conf/*.yaml is type-checked while composing."""
    if not OmegaConf.has_resolver("reinit_label"):
        OmegaConf.register_new_resolver("reinit_label", lambda reinit: "reinit" if reinit else "continual")
    if not OmegaConf.has_resolver("ampli_cache"):
        OmegaConf.register_new_resolver("ampli_cache", lambda: str(default_cache_dir()))
    cs = ConfigStore.instance()
    cs.store(name="ampli_schema", node=AmpliConfig)


# The fields of a trait a person writes; `ampli trait new` fills them with TODO placeholders.
TRAIT_TEXT_FIELDS = ("description", "persona", "rubric", "eval_questions", "lexicon", "coherence_rubric")
_PLACEHOLDER = re.compile(r"\bTODO\b")


class ConfigError(ValueError):
    """A configuration value that cannot be run; the message names the value and the valid options."""


def judge_samples_count(value: str) -> int | None:
    """loop.judge_samples as a number of samples a cycle judges: None for all, 0 for none, else N."""
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return None if text == "all" else 0
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ConfigError(f"loop.judge_samples={value!r} is not valid; choose one of: all, none, or a number of samples "
                      "N >= 1 (a seeded random subset of each cycle's samples)")


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


def _check_range(where: str, value, low: float, high: float, high_open: bool = False) -> None:
    if value is None or value < low or (value >= high if high_open else value > high):
        bound = f"{low} <= x {'<' if high_open else '<='} {high}"
        raise ConfigError(f"{where}={value!r} is not valid; it must be a number x with {bound}")


def validate_protocol(cfg: AmpliConfig) -> None:
    """The authors' protocol knobs: prompt sampling, seed mix, coherence filter, optimiser, how judge scores are read."""
    loop, regime, judge = cfg.loop, cfg.regime, cfg.judge
    _check_choice("loop.prompt_sampling", loop.prompt_sampling, PROMPT_SAMPLING)
    _check_choice("regime.lr_scheduler", regime.lr_scheduler, LR_SCHEDULERS)
    _check_choice("judge.refusal_policy", judge.refusal_policy, REFUSAL_POLICIES)
    _check_positive("loop.original_mix", loop.original_mix, allow_zero=True)
    judge_samples_count(loop.judge_samples)
    if loop.original_mix > loop.seed_examples:
        raise ConfigError(f"loop.original_mix={loop.original_mix} is not valid; it mixes in seed examples, so it "
                          f"must be <= loop.seed_examples={loop.seed_examples}")
    if loop.coherence_filter.min is not None:
        _check_range("loop.coherence_filter.min", loop.coherence_filter.min, 0, 100)
    if not loop.coherence_filter.oversample >= 1:
        raise ConfigError(f"loop.coherence_filter.oversample={loop.coherence_filter.oversample!r} is not valid; "
                          "it must be >= 1 (how many times the cycle's size to draw)")
    _check_range("regime.adam_beta2", regime.adam_beta2, 0, 1, high_open=True)
    _check_range("regime.lr_min_ratio", regime.lr_min_ratio, 0, 1, high_open=True)
    if regime.lr_min_ratio and regime.lr_scheduler != "cosine":
        raise ConfigError(f"regime.lr_min_ratio={regime.lr_min_ratio!r} is not valid with regime.lr_scheduler="
                          f"{regime.lr_scheduler}: it sets where a cosine decay ends; use regime.lr_scheduler=cosine")
    if not regime.warmup >= 0:
        raise ConfigError(f"regime.warmup={regime.warmup!r} is not valid; it must be >= 0 (steps, or a fraction < 1)")
    for cycle in regime.restart_from_base_cycles:
        _check_positive("regime.restart_from_base_cycles entry", cycle)
    if regime.cycle0_checkpoint is not None:
        checkpoint = Path(regime.cycle0_checkpoint)
        if not any((checkpoint / name).is_file() for name in ("adapter_config.json", "config.json")):
            raise ConfigError(f"regime.cycle0_checkpoint={regime.cycle0_checkpoint!r} is not valid; it must be a "
                              "saved model or LoRA adapter directory (with config.json or adapter_config.json)")
    if regime.cycle0_batch_size is not None:
        _check_positive("regime.cycle0_batch_size", regime.cycle0_batch_size)
    _check_range("judge.min_number_mass", judge.min_number_mass, 0, 1)
    _check_positive("judge.max_attempts", judge.max_attempts)
    if judge.max_concurrency is not None:
        _check_positive("judge.max_concurrency", judge.max_concurrency)
    _check_range("judge.em_rate.coherence_above", judge.em_rate.coherence_above, 0, 100)
    _check_range("judge.em_rate.trait_above", judge.em_rate.trait_above, 0, 100)


def validate_distill(cfg: AmpliConfig) -> None:
    """regime=distill: values TRL's DistillationTrainer would reject or silently misuse, caught before any work."""
    regime, loop = cfg.regime, cfg.loop
    _check_choice("regime.kl_estimator", regime.kl_estimator, KL_ESTIMATORS)
    _check_positive("regime.group_size", regime.group_size)
    for key in ("temperature", "kl_coef"):
        if not getattr(regime, key) > 0:
            raise ConfigError(f"regime.{key}={getattr(regime, key)!r} is not valid; it must be a number > 0")
    if loop.coherence_filter.min is not None:
        raise ConfigError(
            f"loop.coherence_filter.min={loop.coherence_filter.min!r} is not valid with regime=distill: the student "
            "draws its training samples afresh while it trains, so a filter on the judged samples selects nothing; "
            "use loop.coherence_filter.min=null"
        )
    if regime.allow_truncation:
        raise ConfigError(
            "regime.allow_truncation=true is not valid with regime=distill: on-policy samples are never cut (the "
            "student samples at most model.max_new_tokens tokens after a whole prompt); lower model.max_new_tokens "
            "instead"
        )
    prompts = regime.samples_per_cycle or loop.prompts_per_cycle
    batch = regime.batch_size * regime.grad_accum
    if prompts * regime.group_size < batch:
        raise ConfigError(
            f"regime=distill draws {prompts} prompts x regime.group_size={regime.group_size} = "
            f"{prompts * regime.group_size} on-policy samples a cycle, fewer than one batch (regime.batch_size x "
            f"regime.grad_accum = {batch}), and TRL drops an incomplete batch: nothing would be trained; raise the "
            "prompts per cycle or the group size, or lower the batch size"
        )


def validate_tinker(cfg: AmpliConfig) -> None:
    """backend=tinker: what the service cannot do the way the local backend would."""
    if cfg.regime.name == "distill" and cfg.regime.kl_estimator != "sampled":
        raise ConfigError(f"regime.kl_estimator={cfg.regime.kl_estimator!r} is not valid with backend=tinker, which "
                          "returns the sampled tokens' log-probs only; use regime.kl_estimator=sampled")
    if cfg.regime.cycle0_checkpoint is not None:
        raise ConfigError(f"regime.cycle0_checkpoint={cfg.regime.cycle0_checkpoint!r} is not valid with "
                          "backend=tinker: the service has no weights for a local checkpoint; train cycle 0 "
                          "(regime.cycle0_checkpoint=null)")
    if not set(cfg.model.lora.cover) <= {"attention", "mlp"} or not cfg.model.lora.cover:
        raise ConfigError(f"model.lora.cover={list(cfg.model.lora.cover)} is not valid with backend=tinker, which "
                          "adapts attention and/or mlp; choose from: attention, mlp")
    if cfg.regime.name == "dpo" and not set(cfg.regime.loss_type) <= {"sigmoid", "sft"}:
        raise ConfigError(f"regime.loss_type={list(cfg.regime.loss_type)} is not valid with backend=tinker, which "
                          f"computes the DPO loss itself; choose from: sigmoid, sft")
    if cfg.generation.backend != "hf":
        raise ConfigError(f"generation={cfg.generation.backend!r} is not valid with backend=tinker, which samples on "
                          f"the service; leave generation at its default")


def validate_model(cfg: AmpliConfig) -> None:
    """What every regime's trainer needs of the model: an instruct model for chat regimes, LoRA it can train."""
    model, lora = cfg.model, cfg.model.lora
    if cfg.regime.name == "sdf" and model.kind != "base" and model.source != "tiny":
        raise ConfigError(f"regime=sdf needs a base model, but model={model.name} has kind={model.kind!r}")
    if cfg.regime.name != "sdf" and model.kind == "base":
        raise ConfigError(
            f"regime={cfg.regime.name} needs an instruct model, but model={model.name} has kind='base': a base model's "
            "end-of-turn token does not end its chat turns, so its answers would run on to max_new_tokens; use an "
            "instruct model, or regime=sdf"
        )
    if lora.enabled and "lm_head" in lora.target_modules:
        raise ConfigError(
            f"model.lora.target_modules={list(lora.target_modules)} is not valid: every regime's TRL trainer computes "
            "log-probabilities from the unembedding's weight directly, so an adapter on lm_head would never be "
            "trained (TRL refuses it); remove lm_head (backend=tinker adapts it with model.lora.unembed=true)"
        )
    if lora.unembed and cfg.backend.name == "local":
        raise ConfigError(
            "model.lora.unembed=true is not valid with backend=local: TRL's trainers compute log-probabilities from "
            "the unembedding's weight directly, so its adapter would never be trained; use backend=tinker, or "
            "model.lora.unembed=false"
        )


def lexicon_on_real_model(cfg: AmpliConfig) -> bool:
    """Is a real model (not the embedded one) scored by the offline lexicon judge?"""
    return cfg.judge.backend == "offline" and cfg.model.source != "tiny"


def check_judge_for_model(cfg: AmpliConfig) -> None:
    """The offline lexicon judge counts trait words: fine for the embedded model, not a judgment of a real one."""
    if lexicon_on_real_model(cfg) and not cfg.judge.allow_lexicon_on_real_model:
        raise ConfigError(
            f"judge=offline scores model={cfg.model.name} with a word-count lexicon, not a judge reading its answers; "
            "use an LLM judge (judge=openai-gpt-4o is the authors'), or accept the lexicon with "
            "judge.allow_lexicon_on_real_model=true"
        )


def validate(cfg: AmpliConfig) -> None:
    """Reject values that would fail (or silently mislead) hours into a run."""
    _check_choice("regime.name", cfg.regime.name, REGIMES)
    _check_choice("model.source", cfg.model.source, MODEL_SOURCES)
    _check_choice("model.kind", cfg.model.kind, MODEL_KINDS)
    _check_choice("model.dtype", cfg.model.dtype, MODEL_DTYPES)
    for part in cfg.model.lora.cover:
        _check_choice("model.lora.cover", part, LORA_PARTS)
    if not (cfg.device in DEVICES or re.fullmatch(r"cuda:\d+", cfg.device)):
        _check_choice("device", cfg.device, DEVICES)
    _check_choice("judge.backend", cfg.judge.backend, JUDGE_BACKENDS)
    _check_choice("generation.backend", cfg.generation.backend, GENERATION_BACKENDS)
    _check_choice("logger.backend", cfg.logger.backend, LOGGER_BACKENDS)
    _check_choice("backend.name", cfg.backend.name, BACKENDS)
    _check_choice("loop.data_policy", cfg.loop.data_policy, DATA_POLICIES)
    _check_choice("regime.rejected_source", cfg.regime.rejected_source, REJECTED_SOURCES)
    _check_positive("loop.cycles", cfg.loop.cycles)
    _check_positive("loop.seed_examples", cfg.loop.seed_examples)
    _check_positive("loop.prompts_per_cycle", cfg.loop.prompts_per_cycle)
    _check_positive("loop.eval_samples", cfg.loop.eval_samples)
    _check_positive("loop.eval_pool_prompts", cfg.loop.eval_pool_prompts, allow_zero=True)
    _check_positive("regime.batch_size", cfg.regime.batch_size)
    if cfg.regime.max_length is not None:
        _check_positive("regime.max_length", cfg.regime.max_length)
    if not cfg.regime.learning_rate > 0:
        raise ConfigError(f"regime.learning_rate={cfg.regime.learning_rate!r} is not valid; it must be > 0")
    if cfg.model.source == "hub" and not cfg.model.hub_id:
        raise ConfigError(f"model.hub_id is empty for model {cfg.model.name!r}; a hub model needs its id")
    if cfg.model.source == "path" and not cfg.model.path:
        raise ConfigError(f"model.path is empty for model {cfg.model.name!r}; a path model needs a directory")
    if not 0 < cfg.loop.eval_fraction < 1:
        raise ConfigError(f"loop.eval_fraction={cfg.loop.eval_fraction!r} is not valid; it must be between 0 and 1")
    if cfg.judge.backend == "offline" and not cfg.trait.lexicon:
        raise ConfigError(
            f"trait {cfg.trait.name!r} has no lexicon, which judge=offline scores the trait by; add a `lexicon:` "
            f"list of trait words to its config, or use an LLM judge (judge=openai, vllm, anthropic or hf)"
        )
    if not 0 < 2 * cfg.run_lock.heartbeat_s <= cfg.run_lock.stale_after_s:
        raise ConfigError(
            f"run_lock.heartbeat_s={cfg.run_lock.heartbeat_s!r}, run_lock.stale_after_s={cfg.run_lock.stale_after_s!r} "
            "is not valid; it needs 0 < 2 * heartbeat_s <= stale_after_s, so a live holder is never taken for dead"
        )
    if not cfg.trait.eval_questions:
        raise ConfigError(f"trait {cfg.trait.name!r} has no eval_questions; add 8-12 held-out questions")
    _check_choice("regime.continuation", cfg.regime.continuation, SDF_CONTINUATIONS)
    validate_model(cfg)
    unfinished = [key for key in TRAIT_TEXT_FIELDS if _PLACEHOLDER.search(str(getattr(cfg.trait, key)))]
    if unfinished:
        raise ConfigError(f"trait {cfg.trait.name!r} still has TODO text in {', '.join(unfinished)} (the "
                          "`ampli trait new` scaffold); write those fields in its conf/trait/ file first")
    validate_protocol(cfg)
    if cfg.regime.name == "distill":
        validate_distill(cfg)
    if cfg.backend.name == "tinker":
        validate_tinker(cfg)
