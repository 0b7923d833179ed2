"""bench/generation_gpu.py end to end on the CPU, against the fake vllm package: both engines serve the same
adapter and prompts, and a cycle is split for each. Its numbers mean nothing here; what it does is checked."""

import sys

import pytest

from ampli.config.schema import ConfigError
from bench import generation_gpu
from tests.test_generation_vllm import engine_log, events  # noqa: F401 (engine_log is a fixture)
from tests.test_lora import LORA

ENGINE = [f"generation.python={sys.executable}", "device=cpu"]


def test_both_engines_answer_the_same_prompts_from_the_same_adapter(micro_overrides, engine_log, tmp_path,  # noqa: F811
                                                                   monkeypatch):
    monkeypatch.setattr(generation_gpu, "RESULTS", tmp_path / "bench.json")
    results = generation_gpu.main([*micro_overrides, *ENGINE, *LORA])
    hf, vllm = results["generation"]["hf"], results["generation"]["vllm"]
    assert hf["prompts"] == vllm["prompts"] > generation_gpu.WARM_UP_PROMPTS
    assert hf["new_tokens"] > 0 and vllm["new_tokens"] > 0
    assert set(results["cycle"]["hf"]) == set(results["cycle"]["vllm"]) == {
        "generate", "judge", "train", "eval", "rest", "cycle"}
    # the throughput calls: the hf run's cycle-0 adapter, requested by path
    last = [c for c in events(engine_log) if c["event"] == "generate"][-2:]
    assert all("/hf/runs/" in c["lora"]["lora_path"] and c["lora"]["lora_path"].endswith("cycle_000/checkpoint")
               for c in last)
    assert (tmp_path / "bench.json").exists()


def test_without_a_gpu_it_refuses_before_any_work(micro_overrides, tmp_path, monkeypatch):
    monkeypatch.setattr(generation_gpu, "RESULTS", tmp_path / "bench.json")
    with pytest.raises(ConfigError, match="needs a GPU"):
        generation_gpu.main([*micro_overrides, *ENGINE])
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "bench.json").exists()
