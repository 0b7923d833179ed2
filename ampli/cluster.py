"""Cluster resources derived from the model size, as OmegaConf resolvers for conf/cluster/*.yaml.

conf/cluster/slurm.yaml writes e.g. `hydra.launcher.gpus_per_node: ${gpus_for:${sweep_params_b:...},${cluster.gpus_per_node}}`:
an explicit `cluster.gpus_per_node=N` wins, null means "size it from the model". A -m sweep is one job array
with one resource request, so the size is that of the most parameters any job of the sweep holds in memory
(`sweep_params_b`: `model=a,b`, `experiment=x,y` or `regime=x,y` each pick their own; distill holds two models).
The resolvers are only used under hydra.launcher.*, which is resolved in the submitting process (launch.py calls
`register_resolvers()` before `hydra.main`), never inside a SLURM job, so the pickled job needs nothing extra.
"""

from __future__ import annotations

import math
from functools import cache

from omegaconf import OmegaConf

# (largest params_b in billions, GPUs per node): only the embedded models (tiny, micro) run without a GPU; every
# real model gets one, however small. Sizes assume bf16 weights + LoRA on 80 GB GPUs, for the parameters a job holds
# (loaded_params_b: distill's teacher counts).
GPU_TIERS = ((0.01, 0), (16.0, 1), (40.0, 2), (80.0, 4), (math.inf, 8))
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


# Training backends that hold no model in the job (ampli.backends): its sweep needs no GPU, whatever the model.
REMOTE_BACKENDS = ("tinker",)


def held_params_b(params_b, backend: str = "local") -> float:
    """Billions of parameters the job itself holds: none when a service trains and samples the model."""
    return 0.0 if backend in REMOTE_BACKENDS else _params_b(params_b)


def gpus_for(params_b, override=None, backend: str = "local") -> int | None:
    """GPUs per node for a model; None (not 0) when no GPU is needed, so sbatch gets no --gpus-per-node."""
    gpus = _explicit("gpus_per_node", override)
    if gpus is None:
        size = held_params_b(params_b, backend)
        gpus = next(n for limit, n in GPU_TIERS if size <= limit)
    return gpus or None


def mem_for(params_b, override=None, backend: str = "local") -> int:
    """Host memory (GB) per node: room to load bf16 weights twice (load + copy) plus 16 GB of headroom."""
    mem = _explicit("mem_gb", override)
    if mem is not None:
        if mem == 0:
            raise ClusterConfigError("cluster.mem_gb=0 is not valid; use a whole number >= 1 or null (auto)")
        return mem
    size = held_params_b(params_b, backend)
    return 8 if size <= GPU_TIERS[0][0] else 8 * math.ceil((4 * size + 16) / 8)


def cpus_for(params_b, override=None, gpus_override=None, backend: str = "local") -> int:
    """CPUs per task: a couple for CPU-only tiny models, CPUS_PER_GPU per GPU (tokenisation, data loading)."""
    cpus = _explicit("cpus_per_task", override)
    if cpus is not None:
        if cpus == 0:
            raise ClusterConfigError("cluster.cpus_per_task=0 is not valid; use a whole number >= 1 or null (auto)")
        return cpus
    gpus = gpus_for(params_b, gpus_override, backend) or 0
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


@cache
def _largest_params_b(primary: float, task_overrides: tuple[str, ...]) -> float:
    from hydra import compose
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = OverridesParser.create().parse_overrides(list(task_overrides))
    choosing = [o for o in overrides if o.key_or_group.lstrip("+~").split(".")[0] in MODEL_CHOOSING_KEYS]
    if not any(o.is_sweep_override() for o in choosing):
        return primary
    jobs = [job for batch in BasicSweeper.split_arguments(choosing, max_batch_size=None) for job in batch]
    configs = [compose(config_name="config", overrides=list(job)) for job in jobs]
    return max(loaded_params_b(cfg.model.params_b, cfg.regime.name) for cfg in configs)


RESOLVERS = {"gpus_for": gpus_for, "mem_for": mem_for, "cpus_for": cpus_for, "sweep_params_b": sweep_params_b}


def register_resolvers() -> None:
    """Register gpus_for/mem_for/cpus_for with OmegaConf; safe to call more than once."""
    for name, fn in RESOLVERS.items():
        OmegaConf.register_new_resolver(name, fn, replace=True)
