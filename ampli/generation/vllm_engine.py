"""generation=vllm: the loop's sampling served by a vLLM engine in a subprocess (GPU only).

Why a subprocess of another environment: vLLM pins its own torch and transformers (vllm 0.33: torch 2.14.0,
transformers < 5.21), which the project's cannot be; and when the engine process exits, all of its GPU memory is
gone, which no in-process engine guarantees. The engine lives from the first sampling after a training to the next
training (release()): typically model n's eval, the base model's perplexity of it and cycle n+1's samples, one
engine per cycle. Each cycle's LoRA adapter is a LoRARequest with an id of its own (an id seen before would serve
the adapter loaded under it: stale weights); base-model answers are requests without one. A full-weights
checkpoint is a model of its own: the engine is restarted on its path.
"""

import json
import logging
import math
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import torch

from ampli.config import ConfigError
from ampli.generation.batched import prompt_ids
from ampli.generation.config import GenerationConfig
from ampli.models import ModelSource

log = logging.getLogger("ampli")

WORKER = Path(__file__).with_name("vllm_worker.py")
DEFAULT_ENV = Path(__file__).resolve().parents[2] / ".venv-vllm"
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # the max_lora_rank values vLLM accepts
SETUP_HINT = ("`make vllm` creates .venv-vllm (vLLM pins its own torch and transformers, so it cannot share the "
              "project's environment), or point generation.python (or $AMPLI_VLLM_PYTHON) at a Python that has vllm")


def vllm_python(cfg: GenerationConfig) -> str:
    return cfg.python or os.environ.get("AMPLI_VLLM_PYTHON") or str(DEFAULT_ENV / "bin" / "python")


def gpu_visible() -> bool:
    return torch.cuda.is_available()


def check_vllm(cfg: GenerationConfig) -> None:
    """Refuse generation=vllm where it cannot run, before any work: no GPU, or no importable vllm."""
    if not gpu_visible():
        raise ConfigError("generation=vllm needs a GPU and none is visible (torch.cuda.is_available() is False); "
                          "use generation=hf, which also runs on the CPU")
    python = vllm_python(cfg)
    if not Path(python).exists():
        raise ConfigError(f"generation=vllm: no Python at {python}; {SETUP_HINT}")
    probe = subprocess.run([python, "-c", "import vllm"], capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"generation=vllm: {python} cannot import vllm ({last}); {SETUP_HINT}")


def max_lora_rank(r: int) -> int:
    """The smallest rank vLLM accepts that holds an adapter of rank r."""
    return next((rank for rank in LORA_RANKS if rank >= r), r)


class EngineError(RuntimeError):
    """The vLLM process failed; the message has its error (the traceback is on stderr)."""


class Engine:
    """One vLLM process serving one model path."""

    def __init__(self, python: str, settings: dict, stop_timeout_s: float):
        self.path = settings["model"]
        self.stop_timeout_s = stop_timeout_s
        self.lora_ids: dict[tuple[str, int], int] = {}  # (adapter path, its file's mtime) -> LoRARequest id
        self.process = subprocess.Popen([python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        ready = self.call({"engine": settings})
        log.info("vLLM %s engine up on %s", ready["vllm"], self.path)

    def call(self, message: dict) -> dict:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise EngineError(f"the vLLM process exited (code {self.process.wait()}); its error is above")
        reply = json.loads(line)
        if "error" in reply:
            raise EngineError(f"vLLM: {reply['error']}")
        return reply

    def lora(self, adapter: Path) -> dict:
        """A LoRARequest for a checkpoint: its own id, a new one if the checkpoint's weights were rewritten."""
        key = (str(adapter), (adapter / "adapter_model.safetensors").stat().st_mtime_ns)
        lora_id = self.lora_ids.setdefault(key, len(self.lora_ids) + 1)
        return {"name": f"{adapter.parent.name}-{lora_id}", "id": lora_id, "path": str(adapter)}

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"shutdown": True}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=self.stop_timeout_s)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        log.info("vLLM engine on %s shut down", self.path)


class VLLMGenerator:
    def __init__(self, cfg: GenerationConfig, source: ModelSource, tokenizer, checkpoint: Callable[[int], Path]):
        self.cfg = cfg
        self.source = source
        self.tokenizer = tokenizer
        self.checkpoint = checkpoint
        self.engine: Engine | None = None

    def sample(self, model: int, prompts: list[str], *, n: int, max_new_tokens: int, temperature: float, seed: int,
               chat: bool, desc: str) -> list[str]:
        if not prompts:
            return []
        engine, lora = self._serving(model)
        log.info("%s: %d prompts x %d from vLLM", desc, len(prompts), n)
        texts = engine.call({"generate": {
            "prompts": prompt_ids(self.tokenizer, prompts, chat), "n": n, "max_tokens": max_new_tokens,
            "temperature": temperature, "seeds": [(seed * 1_000_003 + i) % 2**31 for i in range(len(prompts))], "lora": lora,
        }})["texts"]
        return [per_prompt[k].strip() for k in range(n) for per_prompt in texts]  # the order prompts * n

    def perplexity(self, prompts: list[str], responses: list[str], chat: bool) -> list[float]:
        engine, _ = self._serving(-1)
        starts = [len(ids) for ids in prompt_ids(self.tokenizer, prompts, chat)]
        answers = self.tokenizer(list(responses), add_special_tokens=False)["input_ids"] if responses else []
        full = [p + a for p, a in zip(prompt_ids(self.tokenizer, prompts, chat), answers)]
        logprobs = engine.call({"prompt_logprobs": {"prompts": full, "starts": starts}})["logprobs"]
        return [math.exp(-sum(lp) / len(lp)) if lp else math.nan for lp in logprobs]

    def release(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def _serving(self, model: int) -> tuple[Engine, dict | None]:
        """The engine for model `model` and the LoRARequest that selects it (None: the engine's own weights)."""
        base = str(self.source.weights.path)
        if model < 0:
            return self._engine(base), None
        checkpoint = self.checkpoint(model)
        if (checkpoint / "config.json").exists():  # full weights: served as a model of their own
            return self._engine(str(checkpoint)), None
        engine = self._engine(base)
        return engine, engine.lora(checkpoint)

    def _engine(self, path: str) -> Engine:
        if self.engine is not None and self.engine.path != path:
            self.release()
        if self.engine is None:
            self.engine = Engine(vllm_python(self.cfg), self._settings(path), self.cfg.stop_timeout_s)
        return self.engine

    def _settings(self, path: str) -> dict:
        lora = self.source.cfg.lora
        settings = {
            "model": path, "tokenizer": str(self.source.weights.path), "dtype": str(self.source.dtype).split(".")[-1],
            "gpu_memory_utilization": self.cfg.gpu_memory_utilization, "enforce_eager": self.cfg.enforce_eager,
            "tensor_parallel_size": self.cfg.tensor_parallel_size or max(1, torch.cuda.device_count()),
            "enable_lora": lora.enabled,
        }
        if self.cfg.max_model_len:
            settings["max_model_len"] = self.cfg.max_model_len
        if self.source.cfg.text_only:  # a vision-language checkpoint: no image or video inputs, no encoder memory
            settings["limit_mm_per_prompt"] = {"image": 0, "video": 0}
        if lora.enabled:
            settings |= {"max_lora_rank": max_lora_rank(lora.r), "max_loras": 2}  # model n-1 and n-2 (DPO)
        return settings
