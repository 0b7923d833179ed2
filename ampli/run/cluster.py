"""Cluster resources derived from the model size, as OmegaConf resolvers for conf/cluster/*.yaml.

conf/cluster/slurm.yaml writes e.g. `hydra.launcher.gpus_per_node: ${gpus_for:${sweep_params_b:...},${cluster.gpus_per_node}}`:
an explicit `cluster.gpus_per_node=N` wins, null means "size it from the model". A -m sweep is one job array
with one resource request, so the size is that of the most parameters any job of the sweep holds in memory
(`sweep_params_b`: `model=a,b`, `experiment=x,y` or `regime=x,y` each pick their own; distill holds two models)
and the most tokens any of its training steps holds (`sweep_step_tokens`). GPUs are counted from the training
memory (training_memory_gb) on one node: ampli shards a model over the GPUs of its node and does not span nodes.
The resolvers are only used under hydra.launcher.*, which is resolved in the submitting process (launch.py calls
`register_resolvers()` before `hydra.main`), never inside a SLURM job, so the pickled job needs nothing extra.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import cache

from omegaconf import OmegaConf

# Only the embedded models (tiny, micro) run without a GPU; every real model gets at least one, however small.
CPU_ONLY_PARAMS_B = 0.01
# GPU memory of one training job, in GB (ampli/run/cluster.py: training_memory_gb): bf16 weights (2 bytes a parameter);
# LoRA training state (rank 16 on attention and MLP is ~0.5% of the parameters, each with an fp32 weight, gradient
# and two Adam moments: 16 bytes); activations per token of a training step (the logits over the vocabulary in
# fp32 and their log-softmax, ~1 MB, plus the hidden states kept for activation checkpointing, which grow with the
# model); and a fixed share for the CUDA context and allocator slack. The sum is divided over GPUs filled to 90%.
WEIGHT_BYTES = 2.0
LORA_STATE_GB_PER_B = 0.005 * 16
ACTIVATION_MB_PER_TOKEN = 1.0
ACTIVATION_MB_PER_TOKEN_PER_B = 0.02
OVERHEAD_GB = 4.0
GPU_FILL = 0.9
GPU_MEM_GB = 80  # cluster.gpu_mem_gb: A100/H100 80 GB
# GPU counts a job may ask for on one node: powers of two, so vLLM's tensor parallelism divides the attention heads.
GPU_COUNTS = (1, 2, 4, 8)
# A training step's tokens when the config does not say (batch 8 x 2,048 tokens).
DEFAULT_STEP_TOKENS = 8 * 2048
# Prompt tokens counted beside model.max_new_tokens in a training sequence (the data's own length is known at run
# time only).
PROMPT_TOKENS = 256
CPUS_WITHOUT_GPU = 2
CPUS_PER_GPU = 8


class ClusterConfigError(ValueError):
    """A cluster value that sbatch would reject or that cannot size a job; the message names the value."""


def _params_b(params_b) -> float:
    try:
        value = float(params_b)
    except (TypeError, ValueError):
        raise ClusterConfigError(f"model.params_b={params_b!r} is not a number of billions of parameters") from None
    if value < 0 or math.isnan(value):
        raise ClusterConfigError(f"model.params_b={params_b!r} is not valid; it must be >= 0")
    return value


def _explicit(key: str, value) -> int | None:
    """An explicit cluster.<key> override as a non-negative int, or None when it is left to the model size."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise ClusterConfigError(f"cluster.{key}={value!r} is not valid; use a whole number >= 0 or null (auto)")
    return int(value)


# Training backends that hold no model in the job (ampli.backends.choice): its sweep needs no GPU, whatever the model.
REMOTE_BACKENDS = ("tinker",)


def held_params_b(params_b, backend: str = "local") -> float:
    """Billions of parameters the job itself holds: none when a service trains and samples the model."""
    return 0.0 if backend in REMOTE_BACKENDS else _params_b(params_b)


def training_memory_gb(params_b, step_tokens=DEFAULT_STEP_TOKENS) -> float:
    """GPU memory (GB) to train a LoRA adapter on a model of params_b billions with step_tokens tokens a step."""
    size = _params_b(params_b)
    per_token_mb = ACTIVATION_MB_PER_TOKEN + ACTIVATION_MB_PER_TOKEN_PER_B * size
    return WEIGHT_BYTES * size + LORA_STATE_GB_PER_B * size + step_tokens * per_token_mb / 1024 + OVERHEAD_GB


def gpus_for(params_b, override=None, step_tokens=DEFAULT_STEP_TOKENS, gpu_mem_gb=GPU_MEM_GB,
             backend: str = "local") -> int | None:
    """GPUs per node for a model; None (not 0) when no GPU is needed, so sbatch gets no --gpus-per-node.

    A job runs on one node (the model is sharded over its GPUs with device_map=auto, and vLLM's
    tensor_parallel_size is the same count); a model that needs more GPUs than one node has is refused here."""
    gpus = _explicit("gpus_per_node", override)
    if gpus is not None:
        return gpus or None
    if held_params_b(params_b, backend) <= CPU_ONLY_PARAMS_B:
        return None
    need = training_memory_gb(params_b, step_tokens)
    per_gpu = GPU_FILL * float(_explicit("gpu_mem_gb", gpu_mem_gb) or GPU_MEM_GB)
    fit = next((n for n in GPU_COUNTS if n * per_gpu >= need), None)
    if fit is None:
        raise ClusterConfigError(
            f"model.params_b={params_b} needs ~{need:.0f} GB of GPU memory to train ({math.ceil(need / per_gpu)} GPUs "
            f"of {per_gpu / GPU_FILL:g} GB), more than one node's {GPU_COUNTS[-1]}; ampli runs a job on one node and "
            f"does not span nodes: use GPUs with more memory (cluster.gpu_mem_gb) or a smaller model"
        )
    return fit


def step_tokens(batch_size, max_length, max_new_tokens, regime=None) -> int:
    """Tokens in one training step: the batch x the longest sample (a prompt plus model.max_new_tokens; the collator
    pads to the longest in the batch, so regime.max_length only caps it), twice for dpo (chosen and rejected) and
    distill (the teacher runs the student's sequence too)."""
    length = max_new_tokens + PROMPT_TOKENS
    if max_length:
        length = min(length, int(max_length))
    return int(batch_size) * int(length) * (2 if regime in ("dpo", "distill") else 1)


def mem_for(params_b, override=None, backend: str = "local") -> int:
    """Host memory (GB) per node: room to load bf16 weights twice (load + copy) plus 16 GB of headroom."""
    mem = _explicit("mem_gb", override)
    if mem is not None:
        if mem == 0:
            raise ClusterConfigError("cluster.mem_gb=0 is not valid; use a whole number >= 1 or null (auto)")
        return mem
    size = held_params_b(params_b, backend)
    return 8 if size <= CPU_ONLY_PARAMS_B else 8 * math.ceil((4 * size + 16) / 8)


def cpus_for(params_b, override=None, gpus_override=None, step_tokens=DEFAULT_STEP_TOKENS,
             gpu_mem_gb=GPU_MEM_GB, backend: str = "local") -> int:
    """CPUs per task: a couple for CPU-only tiny models, CPUS_PER_GPU per GPU (tokenisation, data loading)."""
    cpus = _explicit("cpus_per_task", override)
    if cpus is not None:
        if cpus == 0:
            raise ClusterConfigError("cluster.cpus_per_task=0 is not valid; use a whole number >= 1 or null (auto)")
        return cpus
    gpus = gpus_for(params_b, gpus_override, step_tokens, gpu_mem_gb, backend) or 0
    return CPUS_PER_GPU * gpus if gpus else CPUS_WITHOUT_GPU


# Models a job holds at once, by regime (default 1): distill trains a student against a teacher, a second copy of
# the weights. (A DPO reference is the same weights with the adapter disabled.)
MODELS_IN_MEMORY = {"distill": 2}

# Overrides that can change which model a job loads, or how many copies of it.
MODEL_CHOOSING_KEYS = ("model", "experiment", "regime")


def loaded_params_b(params_b, regime: str | None = None) -> float:
    """Billions of parameters a job holds in memory: the model's, times the models its regime loads at once."""
    return _params_b(params_b) * MODELS_IN_MEMORY.get(regime, 1)


def sweep_params_b(params_b, task_overrides=(), regime: str | None = None) -> float:
    """The most parameters any job of a sweep holds (loaded_params_b); the primary config's own when nothing that
    chooses the model or the regime is swept. Each job's are found by composing the config with its choices."""
    return _largest_params_b(loaded_params_b(params_b, regime), tuple(task_overrides or ()))


def _largest_params_b(primary: float, task_overrides: tuple[str, ...]) -> float:
    jobs = _sweep_jobs(task_overrides)
    return max(loaded_params_b(cfg.model.params_b, cfg.regime.name) for cfg in jobs) if jobs else primary


def sweep_jobs(task_overrides: Sequence[str]) -> list[list[str]]:
    """Each job's overrides, in the order Hydra's basic sweeper launches them (comma lists expanded)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = OverridesParser.create().parse_overrides(list(task_overrides))
    return [job for batch in BasicSweeper.split_arguments(overrides, max_batch_size=None) for job in batch]


@cache
def _sweep_jobs(task_overrides: tuple[str, ...]) -> list:
    """Each job's composed config when the sweep varies what chooses the model or the regime; else none."""
    from hydra import compose
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = OverridesParser.create().parse_overrides(list(task_overrides))
    choosing = [o for o in overrides if o.key_or_group.lstrip("+~").split(".")[0] in MODEL_CHOOSING_KEYS]
    if not any(o.is_sweep_override() for o in choosing):
        return []
    return [compose(config_name="config", overrides=job) for job in sweep_jobs([o.input_line for o in choosing])]


def parallel_jobs(cluster: dict) -> int:
    """How many jobs of a sweep run at once: cluster.array_parallelism (slurm), cluster.n_jobs (pool; -1: one per CPU
    core of this machine), else 1 (cluster=local runs them one after another)."""
    if cluster.get("array_parallelism"):
        return int(cluster["array_parallelism"])
    n_jobs = cluster.get("n_jobs")
    if n_jobs is not None and n_jobs < 0:  # joblib's count: -1 is every core, -2 all but one, ...
        return max(1, len(os.sched_getaffinity(0)) + 1 + n_jobs)
    return int(n_jobs or 1)


def sweep_step_tokens(task_overrides=(), batch_size=8, max_length=None, max_new_tokens=0, regime=None) -> int:
    """The most tokens a training step of any job of a sweep holds (step_tokens); the primary config's own when
    nothing that chooses the model or the regime is swept."""
    primary = step_tokens(batch_size, max_length, max_new_tokens, regime)
    jobs = _sweep_jobs(tuple(task_overrides or ()))
    return max([primary] + [step_tokens(c.regime.batch_size, c.regime.max_length, c.model.max_new_tokens,
                                        c.regime.name) for c in jobs])


RESOLVERS = {"gpus_for": gpus_for, "mem_for": mem_for, "cpus_for": cpus_for, "sweep_params_b": sweep_params_b,
             "sweep_step_tokens": sweep_step_tokens}


def register_resolvers() -> None:
    """Register gpus_for/mem_for/cpus_for with OmegaConf; safe to call more than once."""
    for name, fn in RESOLVERS.items():
        OmegaConf.register_new_resolver(name, fn, replace=True)


def describe_request(cfg) -> str:
    """What cluster=slurm asks sbatch for, for one composed config (with its hydra node), as YAML comment lines:
    `launch.py --cfg job` prints them under the job's config."""
    launcher, model, regime = cfg.hydra.launcher, cfg.model, cfg.regime
    tokens = step_tokens(regime.batch_size, regime.max_length, model.max_new_tokens, regime.name)
    held = loaded_params_b(model.params_b, regime.name)
    gpus = launcher.gpus_per_node
    lines = [f"# SLURM request (cluster=slurm, one node; ampli/run/cluster.py): gpus_per_node={gpus}, "
             f"cpus_per_task={launcher.cpus_per_task}, mem_gb={launcher.mem_gb}"]
    if gpus:
        lines.append(f"#   GPU memory to train: ~{training_memory_gb(held, tokens):.0f} GB ({held:g}B parameters held, "
                     f"{tokens:,} tokens a step) on {gpus} x {cfg.cluster.gpu_mem_gb} GB"
                     + ("; the model is sharded over them (device_map=auto)" if gpus > 1 else "")
                     + f"; generation=vllm runs tensor_parallel_size={gpus}")
    lora = model.lora
    if lora.enabled:
        lines.append(f"# LoRA r={lora.r}: target_modules={list(lora.target_modules)}, "
                     f"target_parameters={list(lora.target_parameters)}, every layer's {' and '.join(lora.cover)} "
                     f"covered; matched against the model's modules when the run starts, which logs the count per kind")
    return "\n".join(lines)


SLURM_PROBE_TIMEOUT_S = 15


@cache
def slurm_problem() -> str | None:
    """Why cluster=slurm cannot submit from this machine, in one line with the fix; None when SLURM answers.
    Checked once before any job is submitted (submitit would otherwise end in a long traceback)."""
    import shutil
    import subprocess

    missing = [tool for tool in ("sbatch", "srun", "sinfo") if shutil.which(tool) is None]
    if missing:
        return (f"cluster=slurm cannot submit from this machine: {', '.join(missing)} not found on PATH; run the "
                "command on a SLURM login node, or run here with cluster=pool (jobs side by side) or cluster=local")
    try:
        probe = subprocess.run(["sinfo", "--noheader", "--format=%P"], capture_output=True, text=True,
                               timeout=SLURM_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return (f"cluster=slurm: the SLURM controller did not answer `sinfo` within {SLURM_PROBE_TIMEOUT_S} s; "
                "check it with `scontrol ping`, or run here with cluster=pool or cluster=local")
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return (f"cluster=slurm: the SLURM controller cannot be reached (sinfo: {reason}); check it with "
                "`scontrol ping` and that slurmctld runs, or run here with cluster=pool or cluster=local")
    return None
