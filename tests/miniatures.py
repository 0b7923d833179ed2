"""Random-initialised miniatures of the paper models' architectures, built here (no download): each is the class
transformers builds for the real checkpoint, with tiny dimensions, saved with the micro model's tokenizer.

qwen3_5 and qwen3_5_moe are saved as the hub ships them, vision-language models (ForConditionalGeneration, with a
vision tower), so loading them exercises ampli's text-only path; llama and qwen3_moe are plain CausalLM models.
"""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ampli.config.schema import LoraConfig
from tests.conftest import CONF

TEXT = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
            intermediate_size=64, max_position_embeddings=256)
# Gated DeltaNet dimensions; a full-attention layer every second layer (Qwen3.5: every fourth)
LINEAR_ATTENTION = dict(linear_num_value_heads=2, linear_num_key_heads=1, linear_key_head_dim=16,
                        linear_value_head_dim=16, linear_conv_kernel_dim=4, full_attention_interval=2)
EXPERTS = dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32)
VISION = dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=32,
              num_position_embeddings=16)


def qwen3_5(vocab: int):
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration

    config = Qwen3_5Config(text_config=dict(vocab_size=vocab, **TEXT, **LINEAR_ATTENTION), vision_config=VISION,
                           image_token_id=vocab - 4, video_token_id=vocab - 3, vision_start_token_id=vocab - 2,
                           vision_end_token_id=vocab - 1)
    return Qwen3_5ForConditionalGeneration(config)


def qwen3_5_moe(vocab: int):
    from transformers import Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration

    text = dict(vocab_size=vocab, **TEXT, **LINEAR_ATTENTION, **EXPERTS, shared_expert_intermediate_size=32)
    config = Qwen3_5MoeConfig(text_config=text, vision_config=VISION, image_token_id=vocab - 4,
                              video_token_id=vocab - 3, vision_start_token_id=vocab - 2, vision_end_token_id=vocab - 1)
    return Qwen3_5MoeForConditionalGeneration(config)


def llama(vocab: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, **TEXT))


def qwen3_moe(vocab: int):
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    return Qwen3MoeForCausalLM(Qwen3MoeConfig(vocab_size=vocab, **TEXT, **EXPERTS))


def model_lora(name: str) -> LoraConfig:
    """The LoRA section of conf/model/<name>.yaml, as the run reads it."""
    section = OmegaConf.load(CONF / "model" / f"{name}.yaml").lora
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(LoraConfig), section))


# architecture -> (builder, the LoRA config it is trained with): the shipped model config of that architecture;
# qwen3_5_moe (Qwen3.5-397B-A17B, too large for one node) takes Qwen3.5's projections plus the MoE's experts.
def qwen3_5_moe_lora() -> LoraConfig:
    lora = model_lora("qwen3.5-9b")
    lora.target_parameters = model_lora("qwen3-30b-a3b").target_parameters
    return lora


ARCHITECTURES = {
    "qwen3_5": (qwen3_5, lambda: model_lora("qwen3.5-9b")),
    "qwen3_5_moe": (qwen3_5_moe, qwen3_5_moe_lora),
    "llama": (llama, lambda: model_lora("llama-3.3-70b-instruct")),
    "qwen3_moe": (qwen3_moe, lambda: model_lora("qwen3-30b-a3b")),
}


def save_miniature(architecture: str, tokenizer, out: Path) -> Path:
    torch.manual_seed(0)
    build, _ = ARCHITECTURES[architecture]
    model = build(len(tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
