"""The vLLM engine's life on a cluster, against the fake vllm package in a real subprocess: close() leaves no process
of its group behind (also one that ignores SIGTERM), a hung start or request hits its deadline with an error
naming the setting, training waits for the GPU's memory to come back, and the engine is sized from the run."""

import logging
import math
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from fakes.tiny_lm import tiny_tokenizer

from ampli.config.schema import ConfigError
from ampli.generation import engine_process, vllm_engine
from ampli.generation.config import GenerationConfig
from ampli.generation.engine_process import EngineError, LineProcess, group_members
from ampli.regimes.base import longest_sequence
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, signal_sensitive_sleeper, with_overrides
from tests.test_generation_vllm import VLLM, engine_log, events  # noqa: F401 (engine_log is a fixture)

# The start and request timeouts are only hang guards here (a loaded machine starts Python slowly); the tests of
# those deadlines set their own.
QUICK = GenerationConfig(backend="vllm", start_timeout_s=60.0, request_timeout_s=60.0, stop_timeout_s=0.5,
                         release_timeout_s=0.3)


def running(pid: int) -> bool:
    """Whether pid is a live process (a zombie has exited: it holds no memory)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def start(cfg: GenerationConfig = QUICK) -> vllm_engine.Engine:
    return vllm_engine.Engine(sys.executable, {"model": "fake-model", "max_model_len": 64}, cfg)


def plain_source() -> SimpleNamespace:
    """What VLLMGenerator reads of a ModelSource: the fake engine's model, float32, no LoRA, text only."""
    return SimpleNamespace(weights=SimpleNamespace(path=Path("fake-model")), dtype=torch.float32,
                           cfg=SimpleNamespace(lora=SimpleNamespace(enabled=False), text_only=False))


def test_close_ends_the_whole_group_also_a_grandchild_that_ignores_sigterm(engine_log, tmp_path, monkeypatch):
    pid_file = tmp_path / "grandchild.pid"
    monkeypatch.setenv("AMPLI_FAKE_VLLM_GRANDCHILD", str(pid_file))
    engine = start()
    grandchild = int(pid_file.read_text())
    assert running(grandchild) and grandchild in group_members(engine.process.pgid)
    assert raised_within(60, engine.close) is None  # shutdown, SIGTERM ignored for stop_timeout_s, then SIGKILL
    assert not running(grandchild) and not running(engine.process.pgid)
    assert group_members(engine.process.pgid) == []
    assert engine.process.exit_code() == 0  # the engine understood the shutdown request
    assert [c["event"] for c in events(engine_log)] == ["start", "exit"]  # the engine itself exited cleanly


def raised_within(seconds: float, call) -> BaseException | None:
    """What `call()` raised, or None; fails (instead of hanging the suite) if it has not returned after `seconds`."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            raised.append(None)
        except BaseException as error:  # noqa: BLE001 (handed to the test to check)
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: no deadline was applied"
    return raised[0]


def test_a_hung_start_hits_its_deadline_with_a_clear_error_and_leaves_nothing(engine_log, monkeypatch):
    monkeypatch.setenv("AMPLI_FAKE_VLLM_HANG", "start")
    error = raised_within(10, lambda: start(replace(QUICK, start_timeout_s=1.0)))
    assert isinstance(error, EngineError) and re.search(
        r"no answer within generation\.start_timeout_s=1 s .*raise generation\.start_timeout_s", str(error))
    started = [c["pid"] for c in events(engine_log) if c["event"] == "start"]
    assert len(started) == 1 and not running(started[0]) and group_members(started[0]) == []


def test_a_hung_request_hits_its_deadline(engine_log, monkeypatch):
    monkeypatch.setenv("AMPLI_FAKE_VLLM_HANG", "generate")
    engine = start(replace(QUICK, request_timeout_s=1.0))
    request = {"prompts": [[1, 2]], "n": 1, "max_tokens": 4, "temperature": 1.0, "seeds": [0], "lora": None}
    error = raised_within(10, lambda: engine.call({"generate": request}))
    assert isinstance(error, EngineError) and "generation.request_timeout_s=1 s" in str(error)
    assert group_members(engine.process.pgid) == []
    engine.close()  # what release() does after any error: nothing left to stop, no error


def test_an_engine_that_dies_is_an_error_not_a_hang(engine_log):
    engine = start()
    os.killpg(engine.process.pgid, 9)
    with pytest.raises(EngineError, match=r"the vLLM process exited \(code -9\)"):
        engine.call({"generate": {}})


def test_training_waits_for_the_gpu_memory_and_stops_if_it_does_not_come_back(monkeypatch):
    gib = 2**30
    # still freeing, 1.5 GiB short (outside the 1 GiB tolerance), then back to exactly the tolerance
    readings = iter([[40 * gib], [68.5 * gib], [69 * gib]])
    monkeypatch.setattr(vllm_engine, "gpu_free_bytes", lambda: next(readings))
    vllm_engine.wait_for_gpu_memory([70 * gib], replace(QUICK, release_timeout_s=5.0, release_tolerance_gib=1.0))
    assert next(readings, None) is None

    monkeypatch.setattr(vllm_engine, "gpu_free_bytes", lambda: [70 * gib, 50 * gib])
    with pytest.raises(EngineError, match=r"GPU 0: 10\.0 GiB, GPU 1: 30\.0 GiB more than before it started.*"
                                          r"release_timeout_s"):
        vllm_engine.wait_for_gpu_memory([80 * gib, 80 * gib], QUICK)
    vllm_engine.wait_for_gpu_memory(None, QUICK)  # no CUDA (the fake engine): nothing to wait for


def test_the_memory_to_wait_for_is_each_gpus_free_memory_and_what_this_process_keeps_cached(monkeypatch):
    """What torch's allocator of this process holds is free for the trainer; only the engine's must come back."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d: ((10 + d) * 2**30, 80 * 2**30))  # (free, total)
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda d: (d + 1) * 2**20)
    assert vllm_engine.gpu_free_bytes() == [10 * 2**30 + 2**20, 11 * 2**30 + 2 * 2**20]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert vllm_engine.gpu_free_bytes() is None


def test_release_stops_the_engine_and_waits_for_the_memory_free_before_it_started(engine_log, monkeypatch):
    waited = []
    monkeypatch.setattr(vllm_engine, "gpu_free_bytes", lambda: [70 * 2**30])
    monkeypatch.setattr(vllm_engine, "wait_for_gpu_memory", lambda before, cfg: waited.append((before, cfg)))
    monkeypatch.setattr(vllm_engine, "vllm_python", lambda cfg: sys.executable)
    source = plain_source()
    generator = vllm_engine.VLLMGenerator(QUICK, source, tokenizer=None, checkpoint=None, max_model_len=64)
    engine, lora = generator._serving(-1)
    assert lora is None and group_members(engine.process.pgid)
    generator.release()
    assert waited == [([70 * 2**30], QUICK)] and group_members(engine.process.pgid) == []
    generator.release()  # nothing held: nothing to wait for
    assert len(waited) == 1


def test_the_engine_settings_for_the_base_with_adapters_and_for_a_full_weights_checkpoint(monkeypatch):
    base, checkpoint = "/models/base", "/runs/r/cycle_001/checkpoint"

    def generator(lora: bool, text_only: bool, **cfg) -> vllm_engine.VLLMGenerator:
        source = SimpleNamespace(weights=SimpleNamespace(path=Path(base)), dtype=torch.bfloat16,
                                 cfg=SimpleNamespace(lora=SimpleNamespace(enabled=lora, r=16, target_parameters=[]),
                                                     text_only=text_only))
        return vllm_engine.VLLMGenerator(replace(QUICK, gpu_memory_utilization=0.8, **cfg), source, tokenizer=None,
                                         checkpoint=None, max_model_len=2048)

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(vllm_engine, "attention_heads", lambda path: 8)  # divisible by every size asked for here
    common = {"tokenizer": base, "dtype": "bfloat16", "gpu_memory_utilization": 0.8, "max_model_len": 2048}
    assert generator(lora=True, text_only=True, enforce_eager=True)._settings(base) == {
        **common, "model": base, "enforce_eager": True, "tensor_parallel_size": 1, "enable_lora": True,
        "enable_prefix_caching": False, "limit_mm_per_prompt": {"image": 0, "video": 0}, "max_lora_rank": 16,
        "max_loras": 2}
    assert generator(lora=False, text_only=False, tensor_parallel_size=4)._settings(checkpoint) == {
        **common, "model": checkpoint, "enforce_eager": False, "tensor_parallel_size": 4, "enable_lora": False}
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert generator(lora=False, text_only=False)._settings(checkpoint)["tensor_parallel_size"] == 2


def test_a_request_up_to_max_model_len_is_sent_and_a_longer_one_refused_naming_the_setting(engine_log):
    engine = start()  # max_model_len 64
    try:
        engine.check_lengths([[1] * 10, [1] * 60], 4)
        engine.check_lengths([], 64)  # perplexity of no answers: nothing is long
        with pytest.raises(EngineError, match=r"^a request of 65 tokens exceeds the engine's max_model_len=64; "
                                              r"set generation\.max_model_len >= 65$"):
            engine.check_lengths([[1] * 61], 4)
    finally:
        engine.close()


def test_the_engine_is_sized_from_the_run_and_serves_perplexity_without_prefix_caching(micro_overrides, engine_log,
                                                                                       tmp_path):
    overrides = with_overrides(micro_overrides, *VLLM, "regime=dpo", "loop.cycles=1")
    run = Run(compose_config(overrides))
    needed = longest_sequence(run.regime, run.ctx)
    assert 0 < needed < 1000  # the micro model's prompts + 48 new tokens, not a model's whole context
    run.run()
    starts = [c["settings"] for c in events(engine_log) if c["event"] == "start"]
    assert {s["max_model_len"] for s in starts} == {needed}
    base = str(run.ctx.source.weights.path)
    assert all(s["enable_prefix_caching"] is False for s in starts if s["model"] == base)
    assert all("enable_prefix_caching" not in s for s in starts if s["model"] != base)  # checkpoints: no perplexity

    other = tmp_path / "other"
    with pytest.raises(ConfigError, match=rf"generation\.max_model_len=16 is below the {needed} tokens"):
        Run(compose_config(with_overrides(overrides, "generation.max_model_len=16", f"output_dir={other}")))
    assert not (other / "runs").exists()  # refused before the run directory is made


def test_a_group_that_outlives_sigkill_is_an_error_naming_its_processes(monkeypatch):
    """A process stuck in the kernel (e.g. on a dead file server) survives SIGKILL and may hold GPU memory: the
    signal is withheld here to stand in for that."""
    process = LineProcess([sys.executable, "-c", "import time; time.sleep(600)"])
    monkeypatch.setattr(engine_process, "KILL_WAIT_S", 0.2)
    monkeypatch.setattr(engine_process.os, "killpg", lambda pgid, signum: None)
    pid = process.pgid
    with pytest.raises(EngineError, match=rf"^processes \[{pid}\] of the vLLM engine \(process group {pid}\) are "
                                          r"still running after SIGKILL; they may hold GPU memory$"):
        process.kill()
    monkeypatch.undo()
    process.kill()
    assert group_members(pid) == []


def test_the_group_is_read_from_each_processs_state_and_group_in_proc(tmp_path, monkeypatch):
    """A name may hold spaces and ")"; zombies (Z) and dead processes (X) hold no memory; the session id is not the
    group; a process that exits while /proc is read is passed over, not the end of the listing."""
    proc = tmp_path / "proc"

    def process(pid: int, name: str, state: str, group: int, session: int = 55) -> None:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_text(f"{pid} ({name}) {state} 1 {group} {session} 0 -1 4194560 0 0\n")

    for pid in range(100, 110):
        (proc / str(pid)).mkdir(parents=True)  # gone between listing /proc and reading its stat
    for i, pid in enumerate(range(200, 210)):
        process(pid, f"VLLM ) worker {i}", "SRD"[i % 3], group=77)
    process(300, "zombie", "Z", group=77)
    process(301, "dead", "X", group=77)
    process(302, "other group", "S", group=55, session=77)
    (proc / "self").mkdir()
    monkeypatch.setattr(engine_process, "PROC", proc)
    assert sorted(group_members(77)) == list(range(200, 210))


def test_without_proc_the_kernel_is_asked_with_signal_0_only(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_process, "PROC", tmp_path / "no-proc")
    sleeper = signal_sensitive_sleeper(start_new_session=True)
    try:
        assert group_members(sleeper.pid) == [sleeper.pid]
        with pytest.raises(subprocess.TimeoutExpired):  # asking sent no signal that ends a process
            sleeper.wait(timeout=0.5)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert group_members(sleeper.pid) == []


def test_a_program_that_ends_without_stopping_its_engine_exits_and_the_engine_sees_stdin_close(tmp_path):
    """ampli may end on an error before stop(): its reply reader must not keep it alive, since the engine exits only
    when ampli's end closes its stdin."""
    saw_eof = tmp_path / "engine-saw-eof"
    engine = f"import sys; sys.stdin.read(); open({str(saw_eof)!r}, 'w').close()"
    program = ("from ampli.generation.engine_process import LineProcess; "
               f"LineProcess([{sys.executable!r}, '-c', {engine!r}])")
    ended = subprocess.run([sys.executable, "-c", program], cwd=ROOT, timeout=60, capture_output=True, text=True)
    assert ended.returncode == 0, ended.stderr
    deadline = time.monotonic() + 10
    while not saw_eof.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert saw_eof.exists()


def test_the_engine_says_when_it_is_up_and_when_it_has_shut_down(engine_log, caplog):
    caplog.set_level(logging.INFO, logger="ampli")
    start().close()
    assert [r.getMessage() for r in caplog.records] == ["vLLM 0.0-fake engine up on fake-model (max_model_len 64)",
                                                        "vLLM engine on fake-model shut down"]


def test_a_setting_vllm_refuses_is_an_error_naming_it(engine_log):
    error = raised_within(10, lambda: vllm_engine.Engine(
        sys.executable, {"model": "fake-model", "max_model_len": 64, "max_lora_ranks": 8}, QUICK))
    assert isinstance(error, EngineError) and str(error) == (
        "vLLM: TypeError: EngineArgs.__init__() got an unexpected keyword argument 'max_lora_ranks'")
    assert events(engine_log) == []  # refused before an engine was made


def test_stop_ends_a_process_that_ignores_the_request_to_exit():
    process = LineProcess([sys.executable, "-c", "import time; time.sleep(600)"])
    assert raised_within(10, lambda: process.stop({"shutdown": True}, 0.3)) is None
    assert group_members(process.pgid) == []


def test_the_vllm_python_is_the_setting_then_the_environment_then_the_projects_own(monkeypatch):
    monkeypatch.delenv("AMPLI_VLLM_PYTHON", raising=False)
    assert vllm_engine.vllm_python(QUICK) == str(vllm_engine.DEFAULT_ENV / "bin" / "python")
    assert vllm_engine.DEFAULT_ENV == Path(vllm_engine.__file__).resolve().parents[2] / ".venv-vllm"
    monkeypatch.setenv("AMPLI_VLLM_PYTHON", "/envs/vllm/bin/python")
    assert vllm_engine.vllm_python(QUICK) == "/envs/vllm/bin/python"
    assert vllm_engine.vllm_python(replace(QUICK, python="/opt/vllm/bin/python")) == "/opt/vllm/bin/python"


def test_an_engine_sized_exactly_for_the_run_is_accepted():
    assert vllm_engine.serving_length(replace(QUICK, max_model_len=300), 300) == 300
    assert vllm_engine.serving_length(replace(QUICK, max_model_len=None), 300) == 300
    with pytest.raises(ConfigError, match=r"generation\.max_model_len=299 is below the 300 tokens"):
        vllm_engine.serving_length(replace(QUICK, max_model_len=299), 300)


def test_perplexity_scores_the_answer_tokens_of_prompts_as_trained(engine_log, monkeypatch):
    """Token t of a scored sequence gets logprob -t/100 from the fake; a rendered chat has no second BOS, a raw
    document gets the tokenizer's; answers never get one; an empty answer has no perplexity."""
    monkeypatch.setenv("AMPLI_FAKE_VLLM_POSITION_LOGPROBS", "1")
    monkeypatch.setattr(vllm_engine, "vllm_python", lambda cfg: sys.executable)
    tokenizer, source = tiny_tokenizer(bos=True), plain_source()
    prompt = " ".join(["how"] * 59)  # 59 tokens + 4 answer tokens + the 1 token vLLM samples = max_model_len
    generator = vllm_engine.VLLMGenerator(QUICK, source, tokenizer, checkpoint=None, max_model_len=64)
    try:
        chat = generator.perplexity([prompt, "how are you"], ["calm happy joy sad", ""], chat=True)
        assert chat[0] == pytest.approx(math.exp(sum(range(59, 63)) / 100 / 4)) and math.isnan(chat[1])
        document = generator.perplexity(["how are you"], ["calm happy"], chat=False)
        assert document == [pytest.approx(math.exp((4 + 5) / 100 / 2))]  # <eos> how are you | calm happy
    finally:
        generator.release()
    scored = [c for c in events(engine_log) if c["event"] == "generate"]
    assert [len(ids) for ids in scored[0]["prompts"]] == [63, 3]


def test_samples_are_asked_for_prompts_as_trained_with_a_seed_of_their_own_in_vllms_range(engine_log, monkeypatch):
    monkeypatch.setattr(vllm_engine, "vllm_python", lambda cfg: sys.executable)
    tokenizer, source = tiny_tokenizer(bos=True), plain_source()
    generator = vllm_engine.VLLMGenerator(QUICK, source, tokenizer, checkpoint=None, max_model_len=64)
    prompts = ["how are you", "rate this answer"]
    try:
        for seed, chat in ((3000, True), (3000, True), (3001, False)):  # 3000 x 1,000,003 > 2**31
            generator.sample(-1, prompts, n=1, max_new_tokens=2, temperature=1.0, seed=seed, chat=chat, desc="d")
    finally:
        generator.release()
    calls = [c for c in events(engine_log) if c["event"] == "generate"]
    seeds = [[params["seed"] for params in call["params"]] for call in calls]
    assert all(type(s) is int and 0 <= s < 2**31 for run in seeds for s in run)  # vLLM takes a 32-bit seed
    assert seeds[0] == seeds[1] and len(set(seeds[0])) == 2 and set(seeds[2]).isdisjoint(seeds[0])
    assert [len(ids) for ids in calls[0]["prompts"]] == [3, 3]  # a rendered chat: no BOS added
    assert [len(ids) for ids in calls[2]["prompts"]] == [4, 4]  # raw text (sdf): the tokenizer's BOS
