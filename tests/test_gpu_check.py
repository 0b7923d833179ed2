"""bench/gpu_check.py, the one-script GPU check, tried on the CPU: it lists what the machine lacks, runs each step
in a process of its own and records it, skips vLLM with the reason where there is none, and fails without a GPU."""

import json

import pytest

from bench import gpu_check


def test_the_packages_a_machine_lacks_are_listed():
    assert gpu_check.missing_packages(["torch>=2", "surely-not-installed-ampli-dep<1", "trl"]) == [
        "surely-not-installed-ampli-dep<1"]


def test_without_a_gpu_every_step_fails_and_nothing_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "environment", lambda: {"gpu": None})  # also on a machine that has one
    monkeypatch.setattr(gpu_check, "run_step", lambda *a: pytest.fail("a step ran without a GPU"))
    results = gpu_check.main(["--steps", "sft,dpo", "--out", str(tmp_path / "check.json")])
    assert results["passed"] is False
    assert results["steps"] == {step: {"passed": False, "error": "no CUDA GPU visible"} for step in ("sft", "dpo")}
    assert json.loads((tmp_path / "check.json").read_text())["steps"] == results["steps"]


@pytest.mark.slow
def test_a_step_runs_in_its_own_process_and_a_missing_vllm_is_a_skip(tmp_path, monkeypatch, model_cache):
    monkeypatch.setenv("AMPLI_VLLM_PYTHON", str(tmp_path / "no-vllm" / "python"))
    results = gpu_check.main(["--device", "cpu", "--steps", "sft,generation", "--out", str(tmp_path / "check.json"),
                              f"model_cache={model_cache}"])
    sft = results["steps"]["sft"]
    assert sft["passed"] and sft["status"] == "completed" and len(sft["cycle_seconds"]) == 2
    assert results["steps"]["generation"] == {"passed": None, "skipped": "no vLLM environment ("
                                              f"{tmp_path / 'no-vllm' / 'python'} does not exist; `make vllm`, or "
                                              "set AMPLI_VLLM_PYTHON)"}
    assert results["passed"] and results["missing_packages"] == []
