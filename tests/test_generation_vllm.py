"""generation=vllm against a fake vllm package (tests/fakes/vllm) in a real engine subprocess: what ampli asks of
the engine, one engine per cycle shut down before training, unique LoRA ids, resume; and the clear errors."""

import json
import logging
import math
import os
import sys
from pathlib import Path

import pytest

from ampli.config.schema import ConfigError
from ampli.generation import build_generator
from ampli.generation import vllm_engine as vllm_backend
from ampli.generation.batched import prompt_ids
from ampli.generation.hf import HFGenerator
from ampli.record.store import FingerprintMismatch, read_json, write_json
from ampli.regimes import base as regimes_base
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides
from tests.test_lora import LORA
from tests.test_loop import output_dir_of, run_dir_of

FAKES = ROOT / "tests" / "fakes"
VLLM = ["generation=vllm", f"generation.python={sys.executable}", "device=cpu"]


@pytest.fixture
def engine_log(tmp_path, monkeypatch) -> Path:
    """The fake engine's call log; a GPU is reported visible (the fake needs none) and training times recorded."""
    log = tmp_path / "vllm.jsonl"
    monkeypatch.setenv("AMPLI_FAKE_VLLM_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setattr(vllm_backend, "gpu_visible", lambda: True)
    return log


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def training_times(monkeypatch) -> list[tuple[float, float]]:
    import time

    times = []
    real_run_trainer = regimes_base.run_trainer

    def run_trainer(trainer, checkpoint_dir, plan):
        start = time.time()
        result = real_run_trainer(trainer, checkpoint_dir, plan)
        times.append((start, time.time()))
        return result

    monkeypatch.setattr(regimes_base, "run_trainer", run_trainer)
    return times


def engine_lives(calls: list[dict]) -> list[tuple[float, float, int]]:
    starts = {c["pid"]: c["time"] for c in calls if c["event"] == "start"}
    ends = {c["pid"]: c["time"] for c in calls if c["event"] == "exit"}
    assert starts.keys() == ends.keys(), "an engine process never exited"
    return [(starts[pid], ends[pid], pid) for pid in starts]


def test_lora_cycles_are_served_by_one_engine_per_cycle(micro_overrides, engine_log, training_times):
    overrides = with_overrides(micro_overrides, *VLLM, *LORA, "regime=dpo", "reinit=false", "loop.cycles=3",
                               "loop.eval_samples=3")
    run = Run(compose_config(overrides))
    summary = run.run()
    calls = events(engine_log)
    lives = engine_lives(calls)
    assert len(lives) == 4  # [base eval, cycle 0's rejected], then one per cycle after each training
    for start, end in training_times:  # no engine holds the GPU while a model trains
        assert all(e < start or s > end for s, e, _ in lives)

    starts = [c["settings"] for c in calls if c["event"] == "start"]
    base_path = str(run.ctx.source.weights.path)
    assert all(s["model"] == base_path and s["enable_lora"] and s["max_lora_rank"] >= 4 for s in starts)
    assert {s["dtype"] for s in starts} == {"float32"}

    generates = [c for c in calls if c["event"] == "generate"]
    for pid in {c["pid"] for c in generates}:  # within an engine: one id per adapter, one adapter per id
        loras = {(c["lora"]["lora_path"], c["lora"]["lora_int_id"]) for c in generates if c["pid"] == pid and c["lora"]}
        assert len({path for path, _ in loras}) == len({i for _, i in loras}) == len(loras)
    adapters = {c["lora"]["lora_path"] for c in generates if c["lora"]}
    assert adapters == {str(run.ctx.checkpoint(c)) for c in (0, 1, 2)}

    loop = run.cfg.loop
    samples = [c for c in generates if "prompt_logprobs" not in c["params"][0]]
    scoring = [c for c in generates if "prompt_logprobs" in c["params"][0]]
    assert len(scoring) == 4 and not any(c["lora"] for c in scoring)  # perplexity: the base, in the same engine
    for call in samples:
        for params in call["params"]:
            assert params["top_p"] == 1.0 and params["top_k"] == -1
            assert params["temperature"] in (loop.temperature, loop.eval_temperature)
        assert len({p["seed"] for p in call["params"]}) == len(call["prompts"])  # a seed per request
    evals = [c for c in samples if c["params"][0]["n"] == 3]
    assert len(evals) == 4 and all(c["params"][0]["temperature"] == loop.eval_temperature for c in evals)
    eval_ids = prompt_ids(run.ctx.tokenizer, [p.text for p in run.regime.eval_prompts(run.ctx)], chat=True)
    assert all(c["prompts"] == eval_ids for c in evals)  # the same chat rendering as generation=hf
    rows = [r["response"] for r in read_json_lines(run_dir_of(overrides, summary) / "cycle_002" / "eval.jsonl")]
    assert len(rows) == 3 * len(eval_ids) and rows[0].startswith("a calm plain answer 0")
    assert rows[len(eval_ids)].startswith("a calm plain answer 1")  # the layout prompts * n
    assert summary["cycles"][2]["perplexity"] == pytest.approx(2.718, rel=1e-3)  # the fake's logprob -1 per token


def read_json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


EVAL_TOKENS = 8  # micro samples training data at model.max_new_tokens=16; a lower eval limit makes a swap show


def test_each_request_kind_has_its_own_token_limit_and_perplexity_scores_only_the_answers(micro_overrides,
                                                                                         engine_log, monkeypatch,
                                                                                         caplog):
    monkeypatch.setenv("AMPLI_FAKE_VLLM_POSITION_LOGPROBS", "1")  # token t of a scored sequence: logprob -t/100
    caplog.set_level(logging.INFO, logger="ampli")
    run = Run(compose_config(with_overrides(micro_overrides, *VLLM, f"model.eval_max_new_tokens={EVAL_TOKENS}")))
    summary = run.run()
    generates = [c for c in events(engine_log) if c["event"] == "generate"]
    eval_ids = prompt_ids(run.ctx.tokenizer, [p.text for p in run.regime.eval_prompts(run.ctx)], chat=True)
    scoring = [c for c in generates if "prompt_logprobs" in c["params"][0]]
    evals = [c for c in generates if c not in scoring and c["prompts"] == eval_ids]
    samples = [c for c in generates if c not in scoring and c not in evals]
    assert (len(scoring), len(evals), len(samples)) == (3, 3, 1)  # base, model 0 and model 1; cycle 1's samples
    asked = [r.getMessage() for r in caplog.records if r.getMessage().endswith("from vLLM")]
    assert f"cycle 1 generate: {len(samples[0]['prompts'])} prompts x 1 from vLLM" in asked
    assert f"cycle_001 eval: {len(eval_ids)} prompts x {run.cfg.loop.eval_samples} from vLLM" in asked

    def max_tokens(calls: list[dict]) -> set[int]:
        return {params["max_tokens"] for call in calls for params in call["params"]}

    assert max_tokens(samples) == {run.cfg.model.max_new_tokens} and run.cfg.model.max_new_tokens != EVAL_TOKENS
    assert max_tokens(evals) == {EVAL_TOKENS}
    assert max_tokens(scoring) == {1}  # only the prompt's own log-probabilities are wanted

    run_dir = run_dir_of(micro_overrides, summary)
    for where, call in zip(["base", "cycle_000", "cycle_001"], scoring):
        rows = read_json_lines(run_dir / where / "eval.jsonl")
        assert len(rows) == len(call["prompts"])
        for i, (row, scored) in enumerate(zip(rows, call["prompts"])):
            answer = range(len(eval_ids[i % len(eval_ids)]), len(scored))  # the answer's positions, not the prompt's
            assert len(answer) > 0
            assert row["perplexity"] == pytest.approx(math.exp(sum(t / 100 for t in answer) / len(answer)))


def test_full_weights_checkpoints_are_served_as_their_own_model(micro_overrides, engine_log):
    overrides = with_overrides(micro_overrides, *VLLM, "regime=dpo", "loop.cycles=2")
    run = Run(compose_config(overrides))
    run.run()
    calls = events(engine_log)
    served = [c["settings"]["model"] for c in calls if c["event"] == "start"]
    base = str(run.ctx.source.weights.path)
    assert served[0] == base and str(run.ctx.checkpoint(0)) in served and str(run.ctx.checkpoint(1)) in served
    assert not any(c["lora"] for c in calls if c["event"] == "generate")
    assert all(not c["settings"]["enable_lora"] for c in calls if c["event"] == "start")


def test_a_resumed_run_starts_an_engine_only_for_the_stage_it_redoes(micro_overrides, engine_log):
    overrides = with_overrides(micro_overrides, *VLLM, *LORA, "loop.cycles=2")
    summary = Run(compose_config(overrides)).run()
    run_dir = run_dir_of(overrides, summary)
    manifest = read_json(run_dir / "manifest.json")
    assert manifest["completed"].pop() == "cycle_001/eval"
    write_json(run_dir / "manifest.json", manifest)
    engine_log.unlink()
    again = Run(compose_config(overrides)).run()
    calls = events(engine_log)
    assert [c["event"] for c in calls] == ["start", "generate", "generate", "exit"]  # model 1's eval, base ppl
    assert calls[1]["lora"]["lora_path"] == str(run_dir / "cycle_001" / "checkpoint")
    strip = lambda s: [{k: v for k, v in c.items() if k != "seconds"} for c in s["cycles"]]  # noqa: E731
    assert strip(again) == strip(summary)


def test_the_backend_is_part_of_the_run_fingerprint(micro_overrides, engine_log):
    Run(compose_config(with_overrides(micro_overrides, "loop.cycles=1"))).run()
    with pytest.raises(FingerprintMismatch):
        Run(compose_config(with_overrides(micro_overrides, *VLLM, "loop.cycles=1")))


def test_no_gpu_is_a_clear_error_before_any_work(micro_overrides, monkeypatch):
    monkeypatch.setattr(vllm_backend, "gpu_visible", lambda: False)
    overrides = with_overrides(micro_overrides, *VLLM)
    with pytest.raises(ConfigError, match=r"^generation=vllm needs a GPU and none is visible \(torch\.cuda\."
                                          r"is_available\(\) is False\); use generation=hf, which also runs on "
                                          r"the CPU$"):
        Run(compose_config(overrides))
    assert not (output_dir_of(overrides) / "runs").exists()


def test_missing_vllm_is_a_clear_error_naming_the_way_to_install_it(micro_overrides, monkeypatch, tmp_path):
    """The error quotes the import's last line of stderr, the reason a person needs to fix it."""
    monkeypatch.setattr(vllm_backend, "gpu_visible", lambda: True)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with pytest.raises(ConfigError, match=r"^generation=vllm: \S+ cannot import vllm \(ModuleNotFoundError: No "
                                          r"module named 'vllm'\); `make vllm` creates \.venv-vllm"):
        Run(compose_config(with_overrides(micro_overrides, *VLLM)))
    silent = tmp_path / "silent-python"
    silent.write_text("#!/bin/sh\nexit 1\n")
    silent.chmod(0o755)
    with pytest.raises(ConfigError, match=r"cannot import vllm \(\(no output\)\); "):
        Run(compose_config(with_overrides(micro_overrides, *VLLM, f"generation.python={silent}")))
    with pytest.raises(ConfigError, match=r"no Python at .*nowhere/bin/python"):
        Run(compose_config(with_overrides(micro_overrides, *VLLM, f"generation.python={tmp_path}/nowhere/bin/python")))


def test_the_run_settings_reach_the_generator_each_backend_builds(micro_overrides):
    """judge.perplexity decides whether the base model's engine serves prompt logprobs (and so gives up prefix
    caching); model.generation_batch_size fixes the HF engine's batches."""
    for perplexity in (True, False):
        cfg = compose_config(with_overrides(micro_overrides, *VLLM, f"judge.perplexity={str(perplexity).lower()}"))
        generator = build_generator(cfg, None, None, None, longest_sequence=lambda: 99)
        assert isinstance(generator, vllm_backend.VLLMGenerator)
        assert (generator.prompt_logprobs, generator.max_model_len) == (perplexity, 99)
    cfg = compose_config(with_overrides(micro_overrides, "model.generation_batch_size=7"))
    generator = build_generator(cfg, None, None, None, longest_sequence=lambda: 99)
    assert isinstance(generator, HFGenerator) and generator.batch_size == 7


def test_max_lora_rank_holds_the_adapter():
    assert [vllm_backend.max_lora_rank(r) for r in (4, 8, 16, 17, 64, 300, 512)] == [8, 8, 16, 32, 64, 320, 512]


def test_a_lora_rank_vllm_cannot_serve_is_refused_before_any_work(micro_overrides, monkeypatch):
    monkeypatch.setattr(vllm_backend, "gpu_visible", lambda: True)
    overrides = with_overrides(micro_overrides, *VLLM, *LORA, "model.lora.r=600")
    with pytest.raises(ConfigError, match=r"^model\.lora\.r=600 is not valid with generation=vllm, which serves LoRA "
                                          r"ranks up to 512 \(8, 16, 32, 64, 128, 256, 320, 512\); use a smaller "
                                          r"rank, or generation=hf$"):
        Run(compose_config(overrides))
    assert not (output_dir_of(overrides) / "runs").exists()
    monkeypatch.setattr(vllm_backend, "gpu_visible", lambda: False)  # 512 passes: the next check speaks
    with pytest.raises(ConfigError, match="generation=vllm needs a GPU"):
        Run(compose_config(with_overrides(micro_overrides, *VLLM, *LORA, "model.lora.r=512")))
    with pytest.raises(ConfigError, match="generation=vllm needs a GPU"):  # full weights: the rank is not used
        Run(compose_config(with_overrides(micro_overrides, *VLLM, *LORA, "model.lora.r=600",
                                          "model.lora.enabled=false")))


def test_each_adapter_an_engine_serves_has_its_own_id_and_a_rewritten_one_a_new_id(tmp_path):
    """vLLM caches adapter weights by id: a shared id would serve one cycle's adapter for another."""
    def adapter(cycle: int) -> Path:
        path = tmp_path / f"cycle_{cycle:03d}" / "checkpoint"
        path.mkdir(parents=True, exist_ok=True)
        (path / "adapter_model.safetensors").write_bytes(b"weights")
        return path

    loras = vllm_backend.LoraRequests()
    first, second = adapter(0), adapter(1)
    written = (first / "adapter_model.safetensors").stat()
    os.utime(second / "adapter_model.safetensors", ns=(written.st_atime_ns, written.st_mtime_ns))  # the same instant
    assert loras(first) == {"name": "cycle_000-1", "id": 1, "path": str(first)}
    assert loras(second) == {"name": "cycle_001-2", "id": 2, "path": str(second)}
    assert loras(first)["id"] == 1
    weights = first / "adapter_model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))  # retrained on resume
    assert loras(first) == {"name": "cycle_000-3", "id": 3, "path": str(first)}
    assert vllm_backend.LoraRequests()(first)["id"] == 1  # ids belong to one engine
