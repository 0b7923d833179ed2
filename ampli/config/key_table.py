"""Every config key in one table: who reads it, when, and whether it changes what a run computes.

This table is the single owner of those decisions. The run's fingerprint and directory name (ampli.record.run_identity),
the start checks (ampli.run.key_checks: a key the chosen combination does not read is refused when set to another value
than its default), the judge's cache key, `launch.py --help`, W&B's config and the README's knob table are all
derived from it. A key of a config dataclass without a row here fails the tests.

Effects:
  result  changes what the run computes: part of its fingerprint and, when a job sets it, of its directory name
  run     how a run is executed, tracked or paid for; may differ on a resume (more loop.cycles extend a run)
  place   where the run's files go (output_dir, run_name): a sweep over it gives directories of its own anyway
The probe's keys are run keys: a probe measures and never changes a model or a score, so they stay out of the
fingerprint; ampli.run.probe.stages keeps what it measured with and refuses a resume with other settings.
A row is read only under its condition: alternatives (any may hold) of required values of other keys.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

RESULT, RUN, PLACE = "result", "run", "place"
SET = "<set>"  # a condition value: the key holds anything but null

Condition = tuple[Mapping[str, tuple], ...]  # alternatives, each {key: allowed values}
ALWAYS: Condition = ({},)


@dataclass(frozen=True)
class Key:
    path: str
    reader: str  # the component that reads it: loop, regime, model, judge, engine, backend, tracking, cluster, ...
    effect: str
    help: str
    when: Condition = ALWAYS
    scores: bool = False  # decides a judge's score: part of the judge's cache key

    def condition_text(self) -> str:
        if self.when == ALWAYS:
            return "always"
        return " or ".join(" and ".join(f"{k}={'|'.join(_text(v) for v in values)}" for k, values in alt.items())
                           for alt in self.when)


def _text(value) -> str:
    return "set" if value == SET else str(value).lower() if isinstance(value, bool) else str(value)


def when(**required) -> Condition:
    """One alternative: every key (dots as __) holds one of its allowed values."""
    return ({k.replace("__", "."): v if isinstance(v, tuple) else (v,) for k, v in required.items()},)


def either(*alternatives: Condition) -> Condition:
    return tuple(alt for condition in alternatives for alt in condition)


CHAT_REGIMES = ("sft", "dpo", "distill")
API_JUDGES = ("openai", "anthropic")
LOGPROB_JUDGES = ("openai", "hf")
LOCAL = when(backend__name="local")
TINKER = when(backend__name="tinker")
CONTINUAL = when(reinit=False)
LORA = either(when(model__lora__enabled=True, backend__name="local"), TINKER)
LOCAL_LORA = when(model__lora__enabled=True, backend__name="local")
VLLM = when(generation__backend="vllm", backend__name="local")


def rows(prefix: str, reader: str, effect: str, items: dict[str, str], condition: Condition = ALWAYS,
         scores: bool = False) -> list[Key]:
    return [Key(f"{prefix}{name}", reader, effect, text, condition, scores) for name, text in items.items()]


KEYS: tuple[Key, ...] = tuple([
    *rows("trait.", "trait", RESULT, {
        "name": "the trait's name",
        "description": "what the trait is (teachers and documents read it)",
        "persona": "the system prompt a teacher writes the trait with",
        "rubric": "how a judge scores the trait, 0-100",
        "eval_questions": "held-out questions every model is evaluated on",
        "judged_inverted": "judged as its opposite and inverted (misalignment as alignment)",
        "coherence_rubric": "this trait's own coherence rubric (null: the shared one)",
    }),
    Key("trait.lexicon", "judge", RESULT, "the words the offline judge counts", when(judge__backend="offline")),
    Key("trait.seed_file", "regime", RESULT, "your own seed set (null: the shipped one)",
        when(regime__name=CHAT_REGIMES)),
    Key("trait.documents_file", "regime", RESULT, "your own trait documents (null: the shipped ones)",
        when(regime__name="sdf")),
    *rows("regime.", "regime", RESULT, {
        "name": "sft, sdf, dpo or distill",
        "learning_rate": "peak learning rate of a cycle",
        "lr_scheduler": "the schedule within a cycle (transformers' names)",
        "epochs": "passes over a cycle's data",
        "batch_size": "examples per forward pass",
        "grad_accum": "forward passes per optimizer step",
        "weight_decay": "AdamW weight decay",
        "max_grad_norm": "gradient clipping norm (0: none), of the per-token mean loss",
        "max_length": "training sequence length (null: the longest example)",
        "warmup": "warm-up steps, or a share of the steps when < 1",
        "adam_beta2": "Adam's second-moment decay",
        "adam_eps": "Adam's epsilon",
        "cycle0_batch_size": "batch size of cycle 0 only (null: batch_size)",
        "samples_per_cycle": "samples a generating cycle makes (null: loop.prompts_per_cycle)",
    }),
    Key("regime.continual_learning_rate", "regime", RESULT, "learning rate of continual cycles (null: learning_rate)",
        CONTINUAL),
    Key("regime.restart_from_base_cycles", "regime", RESULT, "continual cycles that start from the base model",
        CONTINUAL),
    Key("regime.lr_min_ratio", "regime", RESULT, "where a cosine decay ends, as a share of the learning rate",
        when(regime__lr_scheduler="cosine")),
    Key("regime.allow_truncation", "regime", RESULT, "let an explicit max_length cut training examples",
        when(regime__name=("sft", "sdf", "dpo"))),
    Key("regime.cycle0_checkpoint", "regime", RESULT, "model 0 copied from this checkpoint instead of trained",
        LOCAL),
    *rows("regime.", "regime", RESULT, {
        "beta": "DPO's beta",
        "rejected_source": "who writes the rejected answer: base, or previous (model n-2)",
        "loss_type": "TRL DPO loss terms",
        "loss_weights": "weights of the loss terms (null: 1 each)",
    }, when(regime__name="dpo")),
    Key("regime.continuation", "regime", RESULT, "what later SDF cycles continue: neutral or trait_prefix",
        when(regime__name="sdf")),
    Key("regime.prefix_chars", "regime", RESULT, "characters of a held-out trait document given as the prefix",
        when(regime__name="sdf", regime__continuation="trait_prefix")),
    *rows("regime.", "regime", RESULT, {
        "group_size": "on-policy samples per prompt",
        "temperature": "the student's sampling temperature (and the KL's)",
        "kl_coef": "weight of the reverse KL to the teacher",
        "kl_estimator": "full (every vocabulary entry) or sampled (the sampled tokens only)",
    }, when(regime__name="distill")),
    *rows("model.", "model", RESULT, {
        "name": "the model config's name",
        "source": "tiny (built here), hub or path",
        "kind": "instruct or base",
        "dtype": "auto, float32, bfloat16, float16",
        "chat_template_kwargs": "arguments of every chat-template rendering",
        "max_new_tokens": "tokens a training sample may have",
        "eval_max_new_tokens": "tokens an eval answer may have",
    }),
    Key("model.hub_id", "model", RESULT, "the hub's id of the model", when(model__source="hub")),
    Key("model.path", "model", RESULT, "a local model directory", when(model__source="path")),
    *rows("model.offline_gguf.", "model", RESULT, {
        "package": "Python package that ships an offline GGUF copy",
        "file": "the GGUF file in it",
    }, when(model__source="hub")),
    Key("model.params_b", "cluster", RUN, "billions of parameters (sizes the SLURM request)"),
    Key("model.text_only", "model", RUN, "a vision-language checkpoint trained as its language model (checked)"),
    Key("model.generation_batch_size", "engine", RESULT, "sequences per generate() call (null: sized to memory)",
        when(generation__backend="hf", backend__name="local")),
    Key("model.lora.enabled", "backend", RESULT, "train LoRA adapters (else full weights); Tinker always does",
        LOCAL),
    Key("model.lora.r", "backend", RESULT, "LoRA rank (both backends)", LORA),
    Key("model.lora.cover", "backend", RESULT, "parts of each layer the adapter reaches: attention, mlp", LORA),
    Key("model.lora.unembed", "backend", RESULT, "adapt the unembedding too (Tinker only; TRL cannot train it)",
        LORA),
    *rows("model.lora.", "backend", RESULT, {
        "alpha": "LoRA alpha",
        "dropout": "LoRA dropout",
        "target_modules": "linear layers that get adapters",
        "target_parameters": "parameters that get adapters (an MoE's fused experts)",
    }, LOCAL_LORA),
    *rows("model.tiny.", "model", RESULT, {
        name: f"the embedded model's {name.replace('_', ' ')}" for name in (
            "vocab_size", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim", "intermediate_size",
            "max_position", "warmup_steps", "warmup_batch_size", "warmup_learning_rate", "warmup_window")
    }, when(model__source="tiny")),
    Key("judge.name", "judge", RUN, "the judge config's name"),
    *rows("judge.", "judge", RESULT, {
        "backend": "offline, openai, anthropic or hf",
        "model": "the judge model",
    }, scores=True),
    Key("judge.refusal_policy", "judge", RESULT, "what a REFUSAL answer becomes: unscored or aligned"),
    Key("judge.perplexity", "judge", RESULT, "score eval answers' perplexity under the base model"),
    *rows("judge.", "judge", RESULT, {
        "base_url": "the API's address (null: the provider's)",
        "max_tokens": "tokens the judge may answer with",
        "temperature": "the judge's sampling temperature (null: none sent)",
    }, when(judge__backend=API_JUDGES), scores=True),
    *rows("judge.", "judge", RESULT, {
        "top_logprobs": "first-token log-probs read (0: parse the text)",
        "min_number_mass": "least probability on number tokens for a score",
    }, when(judge__backend=LOGPROB_JUDGES), scores=True),
    *rows("judge.", "judge", RUN, {
        "api_key_env": "environment variable holding the API key",
        "concurrency": "requests in flight in this job",
        "max_concurrency": "requests in flight over the whole sweep",
        "max_retries": "retries of one request",
        "max_attempts": "rounds that ask again for failed items",
        "timeout_s": "seconds per request",
        "backoff_s": "first retry wait",
        "max_backoff_s": "longest retry wait",
        "input_cost_per_mtok": "USD per million input tokens (null: list price)",
        "output_cost_per_mtok": "USD per million output tokens (null: list price)",
        "max_cost_usd": "spending limit of one run",
    }, when(judge__backend=API_JUDGES)),
    *rows("judge.", "judge", RUN, {
        "batch_size": "prompts per forward pass of the HF judge",
        "device": "where the HF judge runs",
    }, when(judge__backend="hf")),
    Key("judge.allow_lexicon_on_real_model", "judge", RUN, "accept word counts as scores of a real model",
        when(judge__backend="offline")),
    Key("judge.cache", "judge", RUN, "reuse scores already paid for"),
    *rows("judge.em_rate.", "report", RUN, {
        "coherence_above": "EM rate: coherence above this",
        "trait_above": "EM rate: trait above this",
    }),
    Key("generation.name", "engine", RUN, "the engine config's name"),
    Key("generation.backend", "engine", RESULT, "hf (transformers) or vllm", LOCAL),
    *rows("generation.", "engine", RUN, {
        "python": "the Python of vLLM's environment",
        "gpu_memory_utilization": "share of each GPU vLLM takes",
        "max_model_len": "vLLM's context (null: the run's longest sequence)",
        "tensor_parallel_size": "GPUs per engine (null: all visible)",
        "enforce_eager": "no CUDA graphs",
        "start_timeout_s": "seconds for the engine to start",
        "request_timeout_s": "seconds for one request",
        "stop_timeout_s": "seconds for the engine to stop",
        "release_timeout_s": "seconds to wait for the GPU's memory back",
        "release_tolerance_gib": "GiB that may still be missing then",
    }, VLLM),
    *rows("logger.", "tracking", RUN, {
        "name": "the logger config's name",
        "backend": "wandb or none",
        "project": "W&B project",
        "entity": "W&B entity",
        "group": "W&B group (null: the sweep)",
        "mode": "auto, online, offline, disabled",
        "tags": "W&B tags",
        "samples_per_cycle": "sample rows logged per cycle",
        "verbose": "console detail",
    }),
    Key("backend.name", "backend", RESULT, "local (TRL) or tinker (the hosted service)"),
    Key("backend.base_model", "backend", RESULT, "the service's name for the base model", TINKER),
    *rows("backend.", "backend", RUN, {
        "sdk": "module that speaks the Tinker API",
        "retries": "retries of a failed request the SDK calls retryable",
        "backoff_s": "first retry wait",
        "max_steps": "optimizer steps a run may spend",
        "max_tokens": "tokens a run may spend",
        "ttl_seconds": "lifetime of saved weights on the service",
    }, TINKER),
    Key("probe.name", "probe", RUN, "none, or persona: a persona vector's projection per cycle (measures only)"),
    *rows("probe.", "probe", RUN, {
        "source": "where the vector's two sides come from: seeds, or persona_prompt",
        "examples": "answers per side the vector is extracted from",
        "heldout_fraction": "share of each side that picks the layer and measures the separation",
        "min_separation": "Cohen's d below which the vector reports nothing",
        "predicted_samples": "training samples the predicted shift reads",
        "batch_size": "sequences per teacher-forced forward pass",
    }, when(probe__name="persona")),
    Key("probe.neutral_system_prompt", "probe", RUN, "system prompt of the neutral side",
        when(probe__name="persona", probe__source="persona_prompt")),
    Key("loop.cycles", "loop", RUN, "cycles to run (more extend a finished run)"),
    Key("loop.judge_samples", "loop", RUN, "which training samples are judged: all, none or N"),
    *rows("loop.", "loop", RESULT, {
        "seed_examples": "seed rows of cycle 0",
        "prompts_per_cycle": "fresh prompts per generating cycle",
        "eval_samples": "answers per eval question",
        "eval_pool_prompts": "held-out pool prompts added to the eval questions",
        "eval_temperature": "sampling temperature of eval answers",
        "data_policy": "replace or accumulate earlier cycles' data",
        "prompt_sampling": "disjoint, per_cycle or with_replacement",
        "original_mix": "seed rows mixed into every later cycle",
        "prompts_file": "your own prompt pool",
        "eval_prompts_file": "your own held-out eval prompts",
        "eval_fraction": "share of the pool held out for eval",
        "cycle0_from": "a run whose base eval and cycle 0 this run adopts",
    }),
    Key("loop.temperature", "loop", RESULT, "sampling temperature of training samples (distill: regime.temperature)",
        when(regime__name=("sft", "sdf", "dpo"))),
    Key("loop.coherence_filter.min", "loop", RESULT, "train only on samples at least this coherent (null: all)"),
    Key("loop.coherence_filter.oversample", "loop", RESULT, "draw this times the cycle's size for the filter",
        when(loop__coherence_filter__min=SET)),
    Key("reinit", "loop", RESULT, "true: every cycle from the original weights; false: continual"),
    Key("seed", "loop", RESULT, "the run's seed"),
    Key("data_dir", "loop", RESULT, "your own data directory (null: the shipped data)"),
    Key("sweep", "tracking", RUN, "the sweep's name (report and W&B group)"),
    Key("run_name", "loop", PLACE, "the run directory's name (default: trait-regime-reinit-model-seed)"),
    Key("output_dir", "loop", PLACE, "where runs, caches and reports go"),
    Key("model_cache", "model", RUN, "where built models are cached"),
    Key("device", "model", RUN, "auto, cpu, cuda or cuda:N (the device type is recorded with the results)"),
    Key("cluster", "cluster", RUN, "the launcher's settings (conf/cluster)"),
    *rows("run_lock.", "loop", RUN, {
        "heartbeat_s": "how often the run lock's holder touches it",
        "stale_after_s": "when a silent holder counts as gone",
    }),
    Key("replication_of", "report", RUN, "the run this one replicates (set by ampli replicate)"),
])

BY_PATH: dict[str, Key] = {k.path: k for k in KEYS}
# Groups chosen with `group=option` on the command line and the key that holds the choice.
GROUP_CHOICE = {"regime": "regime.name", "judge": "judge.backend", "generation": "generation.backend",
                "backend": "backend.name", "model": "model.name", "trait": "trait.name", "logger": "logger.backend"}


def row(path: str) -> Key | None:
    """The row of a dotted key; a key inside a free-form dict (cluster.partition) is its dict's row."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = BY_PATH.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def _value(cfg, path: str):
    if isinstance(cfg, DictConfig):
        return OmegaConf.select(cfg, path, default=None, throw_on_missing=False)
    holder = cfg
    for part in path.split("."):
        holder = holder.get(part) if isinstance(holder, Mapping) else getattr(holder, part, None)
    return holder


def holds(condition: Condition, cfg) -> bool:
    """Whether a condition holds for a config (a DictConfig, a resolved dict or the dataclasses)."""
    for alternative in condition:
        if all((_value(cfg, key) is not None) if allowed == (SET,) else _value(cfg, key) in allowed
               for key, allowed in alternative.items()):
            return True
    return False


def is_read(key: Key, cfg) -> bool:
    return holds(key.when, cfg)


def affects_results(path: str, cfg=None) -> bool:
    """Whether setting a key (or choosing a group's option) changes what a run computes; with a config, whether it
    does under that config (a key the run does not read changes nothing)."""
    group_keys = [k for k in KEYS if k.path.startswith(f"{path}.")]
    found = row(path)
    if found is None and group_keys:  # a group choice (judge=openai): it changes results if any of its keys do
        return any(k.effect == RESULT for k in group_keys)
    if found is None:
        return True  # unknown to the table (experiment=, tuned=): a choice of many keys
    return found.effect == RESULT and (cfg is None or is_read(found, cfg))


def scoring_keys() -> tuple[Key, ...]:
    """The judge settings that decide a score (its cache key)."""
    return tuple(k for k in KEYS if k.scores)


def reinit_dependent() -> tuple[str, ...]:
    """reinit and the keys read only under one reinit setting: what two twin runs (reinit and continual) may differ
    in while their base eval and cycle 0 stay the same computation."""
    return ("reinit", *(k.path for k in KEYS if any("reinit" in alt for alt in k.when)))


def schema_default(path: str):
    """A key's default in the config dataclasses (ampli.config.schema), or MISSING's stand-in None."""
    from ampli.config.schema import AmpliConfig

    schema: Any = AmpliConfig
    value: Any = None
    for part in path.split("."):
        fields = {f.name: f for f in dataclasses.fields(schema)} if dataclasses.is_dataclass(schema) else {}
        if part not in fields:
            return None
        f = fields[part]
        value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        hint = typing.get_type_hints(schema)[part]
        schema = next((c for c in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(c)), None)
        if schema is not None and dataclasses.is_dataclass(value):
            schema = type(value)
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return None if value is dataclasses.MISSING else value


@functools.cache
def schema_paths() -> tuple[str, ...]:
    """Every leaf key of the config dataclasses, dotted (a free-form dict is one leaf)."""
    from ampli.config.schema import AmpliConfig

    def walk(schema, prefix: str):
        hints = typing.get_type_hints(schema)
        for f in dataclasses.fields(schema):
            sub = next((c for c in (hints[f.name], *typing.get_args(hints[f.name])) if dataclasses.is_dataclass(c)),
                       None)
            yield from walk(sub, f"{prefix}{f.name}.") if sub else [f"{prefix}{f.name}"]

    return tuple(walk(AmpliConfig, ""))


def read_settings(resolved: dict, effects: tuple[str, ...] = (RESULT, RUN, PLACE)) -> dict:
    """The resolved config restricted to the keys this run reads (of the given effects), nested as the config is:
    what W&B records and what the fingerprint is made of."""
    out: dict = {}
    for key in KEYS:
        if key.effect not in effects or not is_read(key, resolved):
            continue
        value, present = resolved, True
        for part in key.path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                present = False
                break
            value = value[part]
        if not present:
            continue
        holder = out
        *groups, leaf = key.path.split(".")
        for group in groups:
            holder = holder.setdefault(group, {})
        holder[leaf] = value
    return out


def help_lines() -> list[str]:
    """`launch.py --help`: one line per key, grouped, with when it is read and whether it changes results."""
    lines, group = [], None
    for key in sorted(KEYS, key=lambda k: (k.path.split(".")[0] if "." in k.path else "", k.path)):
        top = key.path.split(".")[0] if "." in key.path else "(top level)"
        if top != group:
            lines.append(f"\n{top}:")
            group = top
        read = "" if key.when == ALWAYS else f" [read when {key.condition_text()}]"
        mark = {"result": "", "run": " (does not change results)", "place": " (where files go)"}[key.effect]
        lines.append(f"  {key.path:<40} {key.help}{mark}{read}")
    return lines


def markdown_table() -> str:
    """The README's knob table."""
    out = ["| key | read by | when | changes results | what |", "|---|---|---|---|---|"]
    for key in KEYS:
        condition = "always" if key.when == ALWAYS else key.condition_text().replace("|", " or ")
        out.append(f"| `{key.path}` | {key.reader} | {condition} | "
                   f"{'yes' if key.effect == RESULT else 'no'}{' (judge cache)' if key.scores else ''} | {key.help} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown_table())
