"""A stand-in for the vllm package, for the engine tests (the real one needs a GPU and its own environment).

The engine subprocess imports it through PYTHONPATH. Every call is appended as one JSON line to the file named by
$AMPLI_FAKE_VLLM_LOG (with the time and the process id), so a test can check what ampli asked: engine settings,
token ids, sampling parameters, LoRA requests, and when each engine started and exited. Answers are
deterministic; every prompt token gets log-probability -1, or with $AMPLI_FAKE_VLLM_POSITION_LOGPROBS=1 the token
at position t gets -t/100, so that which positions were scored shows in the result.

Faults, each behind an environment variable of its own:
  AMPLI_FAKE_VLLM_HANG=start|generate   the engine never finishes loading, or never answers a generate call;
  AMPLI_FAKE_VLLM_GRANDCHILD=<file>     the engine starts a process that ignores SIGTERM and outlives it (as vLLM's
                                        engine-core and workers can), and writes that process's id to <file>.
"""

import atexit
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

__version__ = "0.0-fake"


def record(event: str, **data) -> None:
    with open(os.environ["AMPLI_FAKE_VLLM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"event": event, "time": time.time(), "pid": os.getpid(), **data}) + "\n")


def hang_if(step: str) -> None:
    if os.environ.get("AMPLI_FAKE_VLLM_HANG") == step:
        time.sleep(3600)


STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)
"""


def start_stubborn_grandchild(pid_file: str) -> None:
    """A child of the engine process that ignores SIGTERM; returns once it ignores it (its pid file exists)."""
    subprocess.Popen([sys.executable, "-c", STUBBORN, pid_file], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    while not os.path.exists(pid_file):
        time.sleep(0.01)


def logprob(position: int) -> float:
    return -position / 100 if os.environ.get("AMPLI_FAKE_VLLM_POSITION_LOGPROBS") == "1" else -1.0


class SamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


# Engine arguments as vLLM's EngineArgs names them (the ones ampli may send, and a few more); vLLM refuses any other
# name with a TypeError, and so does this stand-in, so that a misspelt setting cannot pass the tests.
ENGINE_ARGS = frozenset({
    "model", "tokenizer", "dtype", "seed", "max_model_len", "gpu_memory_utilization", "enforce_eager",
    "tensor_parallel_size", "enable_lora", "max_lora_rank", "max_loras", "enable_prefix_caching",
    "limit_mm_per_prompt", "trust_remote_code", "max_num_seqs", "quantization", "enable_mixed_moe_lora_format",
})
MULTIMODAL_INPUTS = frozenset({"image", "video", "audio"})


class LLM:
    def __init__(self, **settings):
        unknown = sorted(set(settings) - ENGINE_ARGS)
        if unknown:
            raise TypeError(f"EngineArgs.__init__() got an unexpected keyword argument {unknown[0]!r}")
        if not set(settings.get("limit_mm_per_prompt") or {}) <= MULTIMODAL_INPUTS:
            raise ValueError(f"limit_mm_per_prompt: unknown modality in {settings['limit_mm_per_prompt']}")
        self.settings = settings
        record("start", settings=settings)
        atexit.register(record, "exit")
        if os.environ.get("AMPLI_FAKE_VLLM_GRANDCHILD"):
            start_stubborn_grandchild(os.environ["AMPLI_FAKE_VLLM_GRANDCHILD"])
        hang_if("start")

    def generate(self, prompts, sampling_params, lora_request=None, use_tqdm=True):
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params] * len(prompts)
        ids = [p["prompt_token_ids"] for p in prompts]
        hang_if("generate")
        record("generate", prompts=ids, params=[p.kwargs for p in params],
               lora=vars(lora_request) if lora_request else None)
        adapter = lora_request.lora_name if lora_request else "base"
        return [SimpleNamespace(
            outputs=[SimpleNamespace(text=f" a calm plain answer {k} from {adapter} ")
                     for k in range(p.kwargs.get("n", 1))],
            prompt_logprobs=[None] + [{t: SimpleNamespace(logprob=logprob(i))} for i, t in enumerate(prompt[1:], 1)],
        ) for prompt, p in zip(ids, params)]
