"""What vLLM itself would trip on, caught by ampli first: seeds that repeat across a request's answers, a
tensor-parallel size that does not divide the attention heads, an HF judge holding the GPU the engine needs at
start, and adapters on fused MoE experts (vLLM's mixed format)."""

import logging
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from fakes.tiny_lm import tiny_model, tiny_tokenizer

from ampli.config.schema import ConfigError
from ampli.generation import check_generation, vllm_engine
from ampli.generation.config import GenerationConfig
from tests.conftest import compose_config, with_overrides
from tests.test_generation_vllm import VLLM, engine_log, events  # noqa: F401 (engine_log is a fixture)
from tests.test_vllm_engine_lifecycle import QUICK, plain_source


def answer_seeds(request_seeds: list[int], n: int) -> list[int]:
    """The seed vLLM samples each answer with: answer k of a request at the request's seed + k."""
    return [seed + k for seed in request_seeds for k in range(n)]


def test_every_answer_of_a_call_has_a_seed_of_its_own():
    for seed, prompts, n in ((0, 5, 3), (3000, 8, 4), (7, 3, 1)):
        seeds = vllm_engine.request_seeds(seed, prompts, n)
        assert len(set(answer_seeds(seeds, n))) == prompts * n
        assert all(0 <= s < 2**31 for s in answer_seeds(seeds, n))  # vLLM takes a 32-bit seed
    assert vllm_engine.request_seeds(5, 3, 2) == vllm_engine.request_seeds(5, 3, 2)  # reproducible


def test_the_engine_is_asked_for_distinct_answer_seeds(engine_log, monkeypatch):
    monkeypatch.setattr(vllm_engine, "vllm_python", lambda cfg: sys.executable)
    generator = vllm_engine.VLLMGenerator(QUICK, plain_source(), tiny_tokenizer(), checkpoint=None, max_model_len=64)
    try:
        generator.sample(-1, ["how are you", "rate this", "is this calm", "a question"], n=3, max_new_tokens=2,
                         temperature=1.0, seed=11, chat=False, desc="d")
    finally:
        generator.release()
    [call] = [c for c in events(engine_log) if c["event"] == "generate"]
    assert {p["n"] for p in call["params"]} == {3}
    assert len(set(answer_seeds([p["seed"] for p in call["params"]], 3))) == 12


@pytest.mark.parametrize("heads, gpus, expected", [(9, 2, 1), (32, 8, 8), (24, 8, 8), (40, 8, 8), (14, 4, 2),
                                                   (16, 0, 1), (16, 1, 1)])
def test_null_picks_the_most_visible_gpus_that_divide_the_heads(heads, gpus, expected, caplog):
    with caplog.at_level(logging.WARNING, logger="ampli"):
        assert vllm_engine.tensor_parallel_size(GenerationConfig(backend="vllm"), heads, gpus) == expected
    assert ("do not divide over more" in caplog.text) == (expected < gpus)


def test_a_tensor_parallel_size_that_does_not_divide_the_heads_is_refused():
    with pytest.raises(ConfigError, match=r"^generation\.tensor_parallel_size=2 does not divide the model's 9 "
                                          r"attention heads, which vLLM requires; use one of 1, 3, or null"):
        vllm_engine.tensor_parallel_size(GenerationConfig(backend="vllm", tensor_parallel_size=2), 9, 4)
    assert vllm_engine.tensor_parallel_size(GenerationConfig(backend="vllm", tensor_parallel_size=3), 9, 4) == 3


def test_the_heads_are_read_from_the_models_config_when_the_engine_spans_gpus(tmp_path, monkeypatch):
    tokenizer = tiny_tokenizer()
    tiny_model(len(tokenizer)).save_pretrained(tmp_path / "lm")  # 2 attention heads
    assert vllm_engine.attention_heads(str(tmp_path / "lm")) == 2
    source = SimpleNamespace(weights=SimpleNamespace(path=tmp_path / "lm"), dtype=torch.bfloat16,
                             cfg=SimpleNamespace(lora=SimpleNamespace(enabled=False), text_only=False))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    generator = vllm_engine.VLLMGenerator(QUICK, source, tokenizer, checkpoint=None, max_model_len=64)
    assert generator._settings(str(tmp_path / "lm"))["tensor_parallel_size"] == 2
    with pytest.raises(ConfigError, match="tensor_parallel_size=4 does not divide the model's 2 attention heads"):
        vllm_engine.VLLMGenerator(replace(QUICK, tensor_parallel_size=4), source, tokenizer, checkpoint=None,
                                  max_model_len=64)._settings(str(tmp_path / "lm"))


def test_an_hf_judge_on_the_gpu_with_a_vllm_engine_is_refused_at_start(micro_overrides, monkeypatch):
    monkeypatch.setattr(vllm_engine, "gpu_visible", lambda: True)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent / "fakes"))
    for device in ("auto", "cuda"):
        cfg = compose_config(with_overrides(micro_overrides, *VLLM, "judge=hf", f"judge.device={device}"))
        with pytest.raises(ConfigError, match=rf"^judge=hf \(judge.device={device}\) with generation=vllm: the judge "
                                              r"holds its model on the GPU .* use judge.device=cpu"):
            check_generation(cfg)
    check_generation(compose_config(with_overrides(micro_overrides, *VLLM, "judge=hf", "judge.device=cpu")))
    check_generation(compose_config(with_overrides(micro_overrides, "judge=hf")))  # generation=hf shares the GPU


def test_adapters_on_fused_experts_use_vllms_mixed_moe_format(engine_log, tmp_path):
    def settings(target_parameters: list[str]) -> dict:
        lora = SimpleNamespace(enabled=True, r=16, target_parameters=target_parameters)
        source = SimpleNamespace(weights=SimpleNamespace(path=Path("/models/moe")), dtype=torch.bfloat16,
                                 cfg=SimpleNamespace(lora=lora, text_only=False))
        return vllm_engine.VLLMGenerator(QUICK, source, None, checkpoint=None, max_model_len=64)._settings("/m")

    assert "enable_mixed_moe_lora_format" not in settings([])
    moe = settings(["mlp.experts.gate_up_proj", "mlp.experts.down_proj"])
    assert moe["enable_mixed_moe_lora_format"] is True

    adapter = tmp_path / "cycle_001" / "checkpoint"
    adapter.mkdir(parents=True)
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    engine = vllm_engine.Engine(sys.executable, {"model": "fake-model", "max_model_len": 64,
                                                 "enable_mixed_moe_lora_format": True}, QUICK)
    try:
        lora = engine.loras(adapter)
        assert lora["is_3d_lora_weight"] is True
        engine.call({"generate": {"prompts": [[1, 2]], "n": 1, "max_tokens": 2, "temperature": 1.0, "seeds": [0],
                                  "lora": lora}})
    finally:
        engine.close()
    [call] = [c for c in events(engine_log) if c["event"] == "generate"]
    assert call["lora"]["is_3d_lora_weight"] is True  # the worker hands it to vLLM's LoRARequest
    assert "is_3d_lora_weight" not in vllm_engine.LoraRequests()(adapter)  # a dense model's adapter: no flag
