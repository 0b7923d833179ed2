"""Which weights a LoRA adapter reaches, resolved from the model's own modules rather than trusted from a list.

A list of names is easy to get wrong for an architecture: Qwen3.5 mixes full-attention layers (q/k/v/o_proj) with
linear-attention layers (in_proj_qkv, in_proj_z, in_proj_b, in_proj_a, out_proj), so the usual q/k/v/o + MLP list
adapts the attention of only one layer in four, and nothing fails. At start the run builds the model's skeleton
on the meta device (no weights read, no memory), matches the configured targets as PEFT does, reports how many
weights of each kind the adapter covers, and stops when a target matches nothing or when a decoder layer's part
named in model.lora.cover (its attention, whatever its variant, or its MLP) gets no adapter at all.
"""

import re
from collections import Counter
from dataclasses import dataclass

from torch import nn

from ampli.config.schema import ConfigError, LoraConfig

# Module types PEFT's LoRA can wrap by name.
LORA_LAYER_TYPES = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d)
DECODER_LAYER = re.compile(r"^(.*\.)?layers\.(\d+)$")


def part_of(child: str) -> str | None:
    """The part of a decoder layer a direct child is (config.LORA_PARTS), from the names transformers gives them:
    self_attn / linear_attn / attention are token mixers, mlp / feed_forward / block_sparse_moe the feed-forward;
    norms (post_attention_layernorm) are neither."""
    name = child.lower()
    if "norm" in name:
        return None
    if "attn" in name or "attention" in name or name == "mixer":
        return "attention"
    if "mlp" in name or "moe" in name or "feed_forward" in name or "ffn" in name:
        return "mlp"
    return None


def matches(name: str, targets) -> bool:
    """PEFT's rule for a list of targets: the whole name, or its last dotted components."""
    return any(name == t or name.endswith(f".{t}") for t in targets)


@dataclass(frozen=True)
class Coverage:
    """The weights an adapter reaches: their count per kind (the name inside a decoder layer, e.g.
    linear_attn.in_proj_qkv, or the full name outside the layers, e.g. lm_head), over how many decoder layers."""

    counts: dict[str, int]
    layers: int
    model_class: str

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} x{n}" for kind, n in sorted(self.counts.items()))
        return f"LoRA covers {sum(self.counts.values())} weights of {self.model_class} ({self.layers} layers): {kinds}"


def kind_of(name: str) -> str:
    """A weight's name with its decoder layer's prefix removed: the same kind in every layer."""
    match = re.match(r"^(?:.*\.)?layers\.\d+\.(.+)$", name)
    return match.group(1) if match else name


def adaptable_names(model: nn.Module) -> tuple[list[str], list[str]]:
    """The names target_modules can match (LoRA-capable modules) and target_parameters can (any parameter; PEFT
    uses it for weights that are not a linear layer's, such as fused experts)."""
    modules = [n for n, m in model.named_modules() if isinstance(m, LORA_LAYER_TYPES)]
    params = [n for n, _ in model.named_parameters()]
    return modules, params


def resolve(model: nn.Module, lora: LoraConfig) -> Coverage:
    """Match lora's targets against the model, check every target and covered part, and count what is adapted."""
    modules, params = adaptable_names(model)
    adapted_modules = [n for n in modules if matches(n, lora.target_modules)]
    adapted_params = [n for n in params if matches(n, lora.target_parameters)]
    check_every_target_matches(model, lora, modules, params)
    adapted = adapted_modules + adapted_params
    layers = decoder_layers(model)
    check_parts_covered(lora, layers, adapted)
    return Coverage(dict(Counter(kind_of(n) for n in adapted)), len(layers), type(model).__name__)


def check_every_target_matches(model: nn.Module, lora: LoraConfig, modules: list[str], params: list[str]) -> None:
    for key, targets, names in (("target_modules", lora.target_modules, modules),
                                ("target_parameters", lora.target_parameters, params)):
        missing = [t for t in targets if not any(matches(n, [t]) for n in names)]
        if missing:
            known = sorted({kind_of(n) for n in names})
            raise ConfigError(
                f"model.lora.{key} has {missing}, which match nothing in {type(model).__name__}; its "
                f"{'LoRA-capable modules' if key == 'target_modules' else 'parameters'} are: {', '.join(known)}"
            )


def decoder_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The repeated blocks (`...layers.<i>`) of the language model, by name."""
    return {n: m for n, m in model.named_modules() if DECODER_LAYER.match(n)}


def projections(child: str, module: nn.Module) -> set[str]:
    """What an adapter could target in a layer's part: its linear layers by name, and its fused (3-D) expert
    weights by the name target_parameters takes (e.g. mlp.experts.gate_up_proj)."""
    linear = {n.rsplit(".", 1)[-1] for n, m in module.named_modules() if isinstance(m, nn.Linear)}
    fused = {f"{child}.{n}" for n, p in module.named_parameters() if p.dim() == 3 and not n.endswith("weight")}
    return linear | fused


def check_parts_covered(lora: LoraConfig, layers: dict[str, nn.Module], adapted: list[str]) -> None:
    """Every layer's child of a covered part (e.g. linear_attn in one layer, self_attn in the next) needs an adapter."""
    uncovered: dict[str, list[int]] = {}
    weights_of: dict[str, set[str]] = {}
    for layer_name, layer in layers.items():
        index = int(layer_name.rsplit(".", 1)[1])
        for child, module in layer.named_children():
            if part_of(child) not in lora.cover:
                continue
            prefix = f"{layer_name}.{child}."
            if not any(n.startswith(prefix) for n in adapted):
                uncovered.setdefault(child, []).append(index)
                weights_of[child] = projections(child, module)
    if uncovered:
        child, indices = next(iter(uncovered.items()))
        shown = ", ".join(map(str, indices[:8])) + (", ..." if len(indices) > 8 else "")
        raise ConfigError(
            f"model.lora.target_modules={list(lora.target_modules)} leave {child} ({part_of(child)}) without an "
            f"adapter in {len(indices)} of {len(layers)} layers (layers {shown}); its weights are "
            f"{', '.join(sorted(weights_of[child]))}: add them to model.lora.target_modules (fused parameters to "
            f"model.lora.target_parameters), or drop '{part_of(child)}' from model.lora.cover={list(lora.cover)}"
        )


def skeleton(config):
    """The model AutoModelForCausalLM builds for a checkpoint's config, on the meta device: names, no memory. For a
    vision-language config (qwen3_5) transformers builds the text-only CausalLM class."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)
