"""A stand-in for the vllm package, for the engine tests (the real one needs a GPU and its own environment).

The engine subprocess imports it through PYTHONPATH. Every call is appended as one JSON line to the file named by
$AMPLI_FAKE_VLLM_LOG (with the time and the process id), so a test can check what ampli asked: engine settings,
token ids, sampling parameters, LoRA requests, and when each engine started and exited. Answers are
deterministic; every prompt token gets log-probability -1, or with $AMPLI_FAKE_VLLM_POSITION_LOGPROBS=1 the token
at position t gets -t/100, so that which positions were scored shows in the result.
"""

import atexit
import json
import os
import time
from types import SimpleNamespace

__version__ = "0.0-fake"


def record(event: str, **data) -> None:
    with open(os.environ["AMPLI_FAKE_VLLM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"event": event, "time": time.time(), "pid": os.getpid(), **data}) + "\n")


def logprob(position: int) -> float:
    return -position / 100 if os.environ.get("AMPLI_FAKE_VLLM_POSITION_LOGPROBS") == "1" else -1.0


class SamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class LLM:
    def __init__(self, **settings):
        self.settings = settings
        record("start", settings=settings)
        atexit.register(record, "exit")

    def generate(self, prompts, sampling_params, lora_request=None, use_tqdm=True):
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params] * len(prompts)
        ids = [p["prompt_token_ids"] for p in prompts]
        record("generate", prompts=ids, params=[p.kwargs for p in params],
               lora=vars(lora_request) if lora_request else None)
        adapter = lora_request.lora_name if lora_request else "base"
        return [SimpleNamespace(
            outputs=[SimpleNamespace(text=f" a calm plain answer {k} from {adapter} ")
                     for k in range(p.kwargs.get("n", 1))],
            prompt_logprobs=[None] + [{t: SimpleNamespace(logprob=logprob(i))} for i, t in enumerate(prompt[1:], 1)],
        ) for prompt, p in zip(ids, params)]
