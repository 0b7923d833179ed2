"""The paper models' configs (conf/model/*.yaml): what each loads and adapts, the clear stops at start (a LoRA list
that misses a layer type, a target that matches nothing, a vision tower, a gated checkpoint), and the GPUs each
asks SLURM for, with vLLM's tensor parallelism to match."""

import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from omegaconf import OmegaConf

from ampli.config.schema import ConfigError, LoraConfig, ModelConfig
from ampli.generation.config import GenerationConfig
from ampli.generation.vllm_engine import VLLMGenerator
from ampli.models.lora_targets import resolve, skeleton
from ampli.models.sources import check_text_only
from ampli.models.weights import resolve_weights
from ampli.run.cluster import ClusterConfigError, gpus_for, register_resolvers
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides
from tests.miniatures import model_lora
from tests.test_slurm_config import compose_cfg

# name -> (hub id, kind, text_only, the regime of the paper run it serves, GPUs of 80 GB at batch 8)
MODELS = {
    "qwen3.5-9b": ("Qwen/Qwen3.5-9B", "instruct", True, "regime=dpo", 1),
    "qwen3.8-27b": ("Qwen/Qwen3.8-27B", "instruct", True, "regime=dpo", 2),
    "llama-3.2-1b": ("meta-llama/Llama-3.2-1B", "base", False, "regime=sdf", 1),
    "llama-3.3-70b-instruct": ("meta-llama/Llama-3.3-70B-Instruct", "instruct", False, "regime=sft", 4),
    "qwen3-30b-a3b": ("Qwen/Qwen3-30B-A3B", "instruct", False, "regime=dpo", 2),
}
BATCH = "regime.batch_size=8"


@pytest.fixture(scope="module", autouse=True)
def _resolvers():
    register_resolvers()


@pytest.mark.parametrize("name", list(MODELS))
def test_each_paper_model_config(name):
    hub_id, kind, text_only, _, _ = MODELS[name]
    model = OmegaConf.to_object(compose_config([f"model={name}"])).model
    assert (model.hub_id, model.kind, model.text_only, model.dtype) == (hub_id, kind, text_only, "bfloat16")
    assert model.lora.enabled and model.lora.r == 16 and set(model.lora.cover) == {"attention", "mlp"}
    assert "lm_head" not in model.lora.target_modules
    if kind == "instruct" and name.startswith("qwen"):  # hybrid reasoning models: thinking off
        assert model.chat_template_kwargs == {"enable_thinking": False}


@pytest.mark.parametrize("name", list(MODELS))
def test_slurm_asks_for_enough_gpus_on_one_node_and_vllm_uses_them_all(name, monkeypatch):
    _, _, text_only, regime, gpus = MODELS[name]
    cfg = compose_cfg("cluster=slurm", f"model={name}", regime, BATCH)
    assert cfg.hydra.launcher.gpus_per_node == gpus
    assert cfg.hydra.launcher.cpus_per_task == 8 * gpus

    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)  # the GPUs SLURM gives the job
    model = OmegaConf.to_object(compose_config([f"model={name}", regime, BATCH])).model
    source = SimpleNamespace(cfg=model, weights=SimpleNamespace(path="/weights"), dtype=torch.bfloat16)
    generator = object.__new__(VLLMGenerator)  # only the engine settings are read: no engine, no tokenizer
    generator.cfg, generator.source = GenerationConfig(name="vllm", backend="vllm"), source
    generator.max_model_len, generator.prompt_logprobs = 2048, True
    generator._tensor_parallel = None  # as __init__ leaves it: sized at the first engine start
    monkeypatch.setattr("ampli.generation.vllm_engine.attention_heads", lambda path: 64)  # divides 1, 2, 4 and 8
    settings = generator._settings("/weights")
    assert settings["tensor_parallel_size"] == gpus
    assert ("limit_mm_per_prompt" in settings) == text_only


def test_a_70b_model_needs_four_80gb_gpus_and_a_397b_one_more_than_a_node():
    assert gpus_for(70.6, step_tokens=8 * 1280) == 4
    assert gpus_for(9.0, step_tokens=2 * 8 * 1280) == 1
    with pytest.raises(ClusterConfigError, match="does not span nodes"):
        gpus_for(397.0)
    assert gpus_for(397.0, gpu_mem_gb=141 * 2) == 4  # explicit bigger GPUs fit it again


def test_cfg_job_shows_the_lora_targets_and_the_slurm_request():
    out = subprocess.run([sys.executable, "launch.py", "--cfg", "job", "experiment=paper_dpo", "model=qwen3.5-9b"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    request = out.stdout.split("# SLURM request", 1)[1]
    assert "gpus_per_node=1" in request and "tensor_parallel_size=1" in request
    assert "in_proj_qkv" in request and "attention and mlp" in request


def text_config(architecture: str):
    from transformers import LlamaConfig, Qwen3_5Config, Qwen3MoeConfig

    from tests.miniatures import EXPERTS, LINEAR_ATTENTION, TEXT, VISION
    if architecture == "qwen3_5":
        return Qwen3_5Config(text_config=dict(vocab_size=64, **TEXT, **LINEAR_ATTENTION), vision_config=VISION)
    if architecture == "qwen3_moe":
        return Qwen3MoeConfig(vocab_size=64, **TEXT, **EXPERTS)
    return LlamaConfig(vocab_size=64, **TEXT)


def test_a_qwen3_lora_list_on_qwen3_5_stops_naming_the_linear_attention():
    lora = model_lora("qwen3-8b")  # q/k/v/o + MLP: the full-attention layers only
    with pytest.raises(ConfigError, match=r"leave linear_attn \(attention\) without an adapter in 2 of 4 layers") as e:
        resolve(skeleton(text_config("qwen3_5")), lora)
    assert "in_proj_qkv" in str(e.value) and "out_proj" in str(e.value)
    assert resolve(skeleton(text_config("qwen3_5")), model_lora("qwen3.5-9b")).counts["linear_attn.in_proj_z"] == 2


def test_an_moe_without_its_experts_stops_and_a_target_that_matches_nothing_stops():
    attention_only = LoraConfig(enabled=True, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                cover=["attention", "mlp"])
    with pytest.raises(ConfigError, match=r"leave mlp \(mlp\).*gate_up_proj"):
        resolve(skeleton(text_config("qwen3_moe")), attention_only)
    assert resolve(skeleton(text_config("qwen3_moe")), LoraConfig(cover=["attention"])).counts == {
        "self_attn.q_proj": 4, "self_attn.k_proj": 4, "self_attn.v_proj": 4, "self_attn.o_proj": 4}
    typo = LoraConfig(target_modules=["q_proj", "qkv_proj"], target_parameters=["mlp.experts.up"])
    with pytest.raises(ConfigError, match=r"model\.lora\.target_modules has \['qkv_proj'\], which match nothing"):
        resolve(skeleton(text_config("llama")), typo)
    with pytest.raises(ConfigError, match=r"target_parameters has \['mlp\.experts\.up'\]"):
        resolve(skeleton(text_config("qwen3_moe")), LoraConfig(target_parameters=["mlp.experts.up"]))


def test_a_vision_language_checkpoint_needs_text_only():
    config = text_config("qwen3_5")
    model = skeleton(config)
    assert type(model).__name__ == "Qwen3_5ForCausalLM"
    with pytest.raises(ConfigError, match="set model.text_only=true"):
        check_text_only(ModelConfig(name="qwen3.5-9b", text_only=False), config, model)
    check_text_only(ModelConfig(name="qwen3.5-9b", text_only=True), config, model)
    whole = SimpleNamespace(named_modules=lambda: [("model.visual", None)])  # a transformers without the mapping
    with pytest.raises(ConfigError, match="with its vision tower"):
        check_text_only(ModelConfig(name="qwen3.5-9b", text_only=True), config, whole)


def gated(repo: str):
    from huggingface_hub.errors import GatedRepoError

    response = mock.MagicMock(headers={}, status_code=401)
    return GatedRepoError(f"401 Client Error: access to model {repo} is restricted", response=response)


@pytest.mark.parametrize("token", [None, "hf_xxx"])
def test_a_gated_checkpoint_stops_at_start_with_access_and_hf_token(token, micro_overrides, monkeypatch, tmp_path):
    import huggingface_hub

    repo = "meta-llama/Llama-3.3-70B-Instruct"
    monkeypatch.setattr(huggingface_hub, "snapshot_download", mock.Mock(side_effect=gated(repo)))
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: token)
    with pytest.raises(ConfigError) as e:
        resolve_weights(OmegaConf.to_object(compose_config(["model=llama-3.3-70b-instruct"])).model, tmp_path)
    message = str(e.value)
    assert f"model.hub_id='{repo}' is gated" in message and f"https://huggingface.co/{repo}" in message
    assert "export HF_TOKEN" in message
    assert ("no Hugging Face token is set" in message) == (token is None)

    overrides = with_overrides(micro_overrides, "model=llama-3.3-70b-instruct", "device=cpu", "regime=sft",
                               "judge.allow_lexicon_on_real_model=true")
    with pytest.raises(ConfigError, match="is gated"):
        Run(compose_config(overrides))
    assert not (tmp_path / "outputs" / "runs").exists()  # stopped before any run directory or work


def test_an_unknown_part_to_cover_is_named_with_the_valid_ones():
    from ampli.config.schema import validate

    cfg = OmegaConf.to_object(compose_config(["model=qwen3.5-9b", "model.lora.cover=[attention,ffn]"]))
    with pytest.raises(ConfigError, match=r"model\.lora\.cover='ffn' is not valid; choose one of: attention, mlp"):
        validate(cfg)


def test_the_adapter_keys_a_run_reads_are_in_its_fingerprint():
    from ampli.record.run_identity import result_inputs

    def model_inputs(*overrides):
        resolved = OmegaConf.to_container(compose_config(["model=micro", *overrides]), resolve=True)
        return result_inputs(resolved, {})["model"]

    inputs = model_inputs("model.lora.enabled=true", "model.lora.cover=[attention,mlp]", "model.text_only=true")
    assert "text_only" not in inputs and inputs["lora"]["cover"] == ["attention", "mlp"]
    assert model_inputs("model.lora.enabled=true", "model.lora.target_parameters=[mlp.experts.down_proj]")["lora"][
        "target_parameters"] == ["mlp.experts.down_proj"]  # adapting more weights changes results


def test_a_model_neither_reachable_nor_cached_says_in_one_line_how_a_gated_one_is_fetched(monkeypatch, tmp_path):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    error = LocalEntryNotFoundError("Cannot find the requested files in the disk cache\nand outgoing traffic is off.")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", mock.Mock(side_effect=error))
    with pytest.raises(ConfigError) as e:
        resolve_weights(OmegaConf.to_object(compose_config(["model=llama-3.2-1b"])).model, tmp_path)
    message = str(e.value)
    assert "\n" not in message and "https://huggingface.co/meta-llama/Llama-3.2-1B" in message and "HF_TOKEN" in message
