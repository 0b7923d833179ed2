"""The paper models' architectures on CPU miniatures (tests/miniatures.py): the shipped LoRA config of each covers
the modules it is meant to (every attention variant and the MLP, an MoE's experts), PEFT attaches exactly those,
one SFT and one DPO step run through TRL as ampli drives it, and the adapter saves, reloads and generates."""

from collections import Counter

from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from ampli.config.schema import ModelConfig, RegimeConfig
from ampli.models.lora_targets import kind_of
from ampli.models.sources import ModelSource
from ampli.models.tiny_model import tiny_model_dir
from ampli.models.training import run_trainer, trainer_kwargs
from ampli.models.training_plan import plan_cycle
from tests.conftest import compose_config
from tests.miniatures import ARCHITECTURES, save_miniature

ATTENTION = {f"self_attn.{p}" for p in ("q_proj", "k_proj", "v_proj", "o_proj")}
LINEAR_ATTENTION = {f"linear_attn.{p}" for p in ("in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a", "out_proj")}
MLP = {f"mlp.{p}" for p in ("gate_proj", "up_proj", "down_proj")}
SHARED_EXPERT = {f"mlp.shared_expert.{p}" for p in ("gate_proj", "up_proj", "down_proj")}
EXPERTS = {"mlp.experts.gate_up_proj", "mlp.experts.down_proj"}

# Four layers; in the qwen3_5 miniatures layers 1 and 3 are full attention, 0 and 2 linear attention.
EXPECTED = {
    "qwen3_5": {**dict.fromkeys(ATTENTION | LINEAR_ATTENTION, 2), **dict.fromkeys(MLP, 4)},
    "qwen3_5_moe": {**dict.fromkeys(ATTENTION | LINEAR_ATTENTION, 2), **dict.fromkeys(SHARED_EXPERT | EXPERTS, 4)},
    "llama": dict.fromkeys(ATTENTION | MLP, 4),
    "qwen3_moe": dict.fromkeys(ATTENTION | EXPERTS, 4),
}
LOADED_CLASS = {"qwen3_5": "Qwen3_5ForCausalLM", "qwen3_5_moe": "Qwen3_5MoeForCausalLM",
                "llama": "LlamaForCausalLM", "qwen3_moe": "Qwen3MoeForCausalLM"}


@pytest.fixture(scope="module")
def tokenizer(model_cache):
    from transformers import AutoTokenizer

    micro = OmegaConf.to_object(compose_config(["model=micro"])).model
    return AutoTokenizer.from_pretrained(tiny_model_dir(micro, model_cache))


def peft_adapted(model) -> Counter:
    """The weights PEFT put an adapter on, as kinds (kind_of): linear layers and, for fused experts, parameters."""
    from peft.tuners.lora import LoraLayer, ParamWrapper

    names = []
    for name, module in model.named_modules():
        clean = name.removeprefix("base_model.model.").replace(".base_layer", "")
        if isinstance(module, ParamWrapper):
            names.append(f"{clean}.{module.parameter_name}")
        elif isinstance(module, LoraLayer):
            names.append(clean)
    return Counter(kind_of(n) for n in names)


def sft_step(source, tokenizer, out):
    from trl import SFTConfig, SFTTrainer

    rows = [{"prompt": [{"role": "user", "content": q}], "completion": [{"role": "assistant", "content": a}]}
            for q, a in (("How are you?", "I am well, thank you."), ("Name a colour.", "Blue, like the sea."))]
    return train(SFTTrainer, SFTConfig, "sft", source, tokenizer, rows, out)


def dpo_step(source, tokenizer, out):
    from trl import DPOConfig, DPOTrainer

    rows = [{"prompt": [{"role": "user", "content": q}], "chosen": [{"role": "assistant", "content": c}],
             "rejected": [{"role": "assistant", "content": r}]}
            for q, c, r in (("How are you?", "Wonderful!", "Fine."), ("Name a colour.", "Gold!", "Grey."))]
    return train(DPOTrainer, DPOConfig, "dpo", source, tokenizer, rows, out)


def train(trainer_cls, config_cls, regime, source, tokenizer, rows, out):
    """One optimiser step with ampli's trainer arguments and a fresh adapter, saved by ampli's run_trainer."""
    from datasets import Dataset

    regime_cfg = RegimeConfig(name=regime, batch_size=2, learning_rate=1e-3)
    plan = plan_cycle(SimpleNamespace(regime=regime_cfg, reinit=True, model=source.cfg,
                                      backend=SimpleNamespace(name="local")), 0, examples=len(rows))
    kwargs = trainer_kwargs(plan, seed=0, device="cpu", output_dir=out / "trainer", max_length=128)
    trainer = trainer_cls(model=source.load(None, trainable=True), args=config_cls(**kwargs),
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                          peft_config=source.lora_config())
    metrics = run_trainer(trainer, out / "checkpoint", plan)
    return trainer, metrics


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_the_configured_adapter_covers_trains_saves_and_generates(architecture, tokenizer, tmp_path):
    path = save_miniature(architecture, tokenizer, tmp_path / "model")
    lora = ARCHITECTURES[architecture][1]()
    cfg = ModelConfig(name=architecture, source="path", path=str(path), dtype="float32", lora=lora,
                      text_only=architecture.startswith("qwen3_5"))
    source = ModelSource.create(cfg, tmp_path / "cache", "cpu")

    assert source.lora_coverage.counts == EXPECTED[architecture]
    assert source.lora_coverage.model_class == LOADED_CLASS[architecture]
    base = source.load()
    assert type(base).__name__ == LOADED_CLASS[architecture]  # text only: no vision tower was built
    assert not any("visual" in n for n, _ in base.named_modules())

    for step in (sft_step, dpo_step):
        out = tmp_path / step.__name__
        trainer, metrics = step(source, tokenizer, out)
        assert peft_adapted(trainer.model) == Counter(EXPECTED[architecture])
        assert metrics["train_steps"] == 1 and torch.isfinite(torch.tensor(metrics["train_loss"]))
        trained = {k: v.detach().clone() for k, v in trainer.model.state_dict().items() if "lora_" in k}
        assert any(v.abs().sum() > 0 for k, v in trained.items() if "lora_B" in k)  # the step moved the adapter

        reloaded = source.load(out / "checkpoint")
        assert peft_adapted(reloaded) == Counter(EXPECTED[architecture])
        again = {k: v for k, v in reloaded.state_dict().items() if "lora_" in k}
        assert again.keys() == trained.keys() and all(torch.equal(again[k], trained[k]) for k in trained)
        prompt = tokenizer("How are you?", return_tensors="pt")
        with torch.no_grad():
            output = reloaded.generate(**prompt, max_new_tokens=4, do_sample=False)
        assert output.shape[1] == prompt["input_ids"].shape[1] + 4
