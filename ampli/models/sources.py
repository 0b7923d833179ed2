"""Where a cycle's model comes from: the original weights, or a cycle's checkpoint on top of them.

Checkpoints are LoRA adapters when model.lora.enabled (the paper's setup on real models) and full weights
otherwise (the embedded tiny model). Models are reloaded from disk rather than deep-copied in memory, so a
4B model never exists twice on a GPU.

Placement: one GPU holds the whole model; with several GPUs visible the model is sharded across them
(`device_map="auto"`), so HF Trainer sees a model-parallel model and never wraps it in DataParallel, which would
copy the whole model to every GPU and silently multiply the batch.
"""

import gc
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ampli.config.schema import ConfigError, ModelConfig
from ampli.models.lora_targets import Coverage, resolve, skeleton
from ampli.models.weights import Weights, resolve_weights

log = logging.getLogger("ampli")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def set_cpu_threads(model: ModelConfig) -> None:
    """Intra-op CPU threads: the SLURM allocation when there is one, else one thread for the embedded model.

    A ~1M-parameter model's matrices are too small to split across threads: one thread sampled 64 prompts in
    0.34 s against 0.51 s with two, and it cannot oversubscribe a machine shared with other jobs.
    """
    cpus = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if cpus.isdigit():
        torch.set_num_threads(int(cpus))
    elif model.source == "tiny":
        torch.set_num_threads(1)


def resolve_device(requested: str, model: ModelConfig) -> str:
    """The device a run uses. A real model never lands on the CPU by accident: on a cluster that means a job
    without its GPU or a CPU-only torch, and a run that takes days instead of hours."""
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={requested!r} but no GPU is visible (torch.cuda.is_available() is False); "
                          f"check the job's GPU allocation and that torch is a CUDA build, or use device=cpu")
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if model.source != "tiny":
        raise ConfigError(
            f"model={model.name} ({model.params_b:g}B parameters) would run on the CPU: no GPU is visible "
            f"(torch.cuda.is_available() is False). On a cluster, check the job's GPU allocation and that torch is "
            f"a CUDA build; to run this model on the CPU on purpose, pass device=cpu"
        )
    return "cpu"


def free_memory() -> None:
    """Hand memory of dropped models back: Python's cycles first, then the CUDA allocator's cache, so the next
    stage (a trainer, another engine) finds it free instead of held by the allocator."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """model.dtype=auto: float32 on the CPU (bf16 matmuls are slow there), bfloat16 on a GPU."""
    if dtype == "auto":
        return torch.float32 if device == "cpu" else torch.bfloat16
    return DTYPES[dtype]


def placement(device: str) -> dict:
    """from_pretrained arguments that shard the model over every visible GPU when there is more than one."""
    if device == "cuda" and torch.cuda.device_count() > 1:
        return {"device_map": "auto"}
    return {}


def check_text_only(cfg: ModelConfig, config, model) -> None:
    """A vision-language checkpoint (its config.json has a vision_config) trains as its language model only, and
    only when model.text_only says so; `model` is what AutoModelForCausalLM builds for that config."""
    if getattr(config, "vision_config", None) is None:
        return
    if not cfg.text_only:
        raise ConfigError(
            f"model={cfg.name} is a vision-language checkpoint ({', '.join(config.architectures or [])}, with a "
            f"vision tower); ampli trains and samples text only: set model.text_only=true to load its language "
            f"model alone"
        )
    if any("visual" in n or "vision" in n for n, _ in model.named_modules()):
        raise ConfigError(
            f"model.text_only=true, but this transformers builds {type(model).__name__} with its vision tower for "
            f"model={cfg.name}; use a transformers whose AutoModelForCausalLM maps it to the text-only class"
        )


@dataclass
class ModelSource:
    """The original weights of a run and how to rebuild any cycle's model from them."""

    cfg: ModelConfig
    weights: Weights
    device: str
    dtype: torch.dtype
    # What the LoRA adapter covers, resolved from the model's modules at start (ampli.models.lora_targets); None: no
    # LoRA.
    lora_coverage: Coverage | None = None

    @classmethod
    def create(cls, cfg: ModelConfig, cache_root: Path, device: str, tokenizer_only: bool = False) -> "ModelSource":
        """tokenizer_only: the run computes nothing with the model here (a service trains and samples it)."""
        device = resolve_device(device, cfg)
        source = cls(cfg=cfg, weights=resolve_weights(cfg, cache_root, tokenizer_only), device=device,
                     dtype=resolve_dtype(cfg.dtype, device))
        if cfg.lora.enabled or cfg.source != "tiny":  # names and classes only: no weights are read
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(source.weights.path)
            model = skeleton(config)
            check_text_only(cfg, config, model)
            if cfg.lora.enabled:
                source.lora_coverage = resolve(model, cfg.lora)
                log.info("%s", source.lora_coverage.summary())
        if placement(device):
            log.info("%d GPUs visible: %s is sharded across them (device_map=auto)", torch.cuda.device_count(),
                     cfg.name)
        return source

    @property
    def base_path(self) -> str:
        return str(self.weights.path)

    def tokenizer(self):
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(self.base_path)
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        return tok

    def load(self, checkpoint: Path | None = None, trainable: bool = False):
        """The base model, or the base model with a cycle's checkpoint (adapter or full weights) applied."""
        from transformers import AutoModelForCausalLM

        is_full_checkpoint = checkpoint is not None and (checkpoint / "config.json").exists()
        path = str(checkpoint) if is_full_checkpoint else self.base_path
        sharding = placement(self.device)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=self.dtype, **sharding)
        if not sharding:
            model = model.to(self.device)
        if checkpoint is not None and not is_full_checkpoint:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(checkpoint), is_trainable=trainable)
        model.train(trainable)
        return model

    def lora_config(self):
        """A fresh adapter's config, or None for full finetuning."""
        if not self.cfg.lora.enabled:
            return None
        from peft import LoraConfig

        lora = self.cfg.lora
        return LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=list(lora.target_modules),
            target_parameters=list(lora.target_parameters) or None,
            task_type="CAUSAL_LM",
        )
