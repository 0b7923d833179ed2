"""generation=vllm: the loop's sampling served by a vLLM engine in a subprocess (GPU only).

Why a subprocess of another environment: vLLM pins its own torch and transformers (vllm 0.34: torch 2.14.0,
transformers >=5.16.1,<5.23), which the project's cannot be; and when the engine process exits, all of its GPU memory is
gone, which no in-process engine guarantees. The engine lives from the first sampling after a training to the next
training (release()): typically model n's eval, the base model's perplexity of it and cycle n+1's samples, one
engine per cycle. Each cycle's LoRA adapter is a LoRARequest with an id of its own (an id seen before would serve
the adapter loaded under it: stale weights); base-model answers are requests without one. A full-weights
checkpoint is a model of its own: the engine is restarted on its path.

The engine runs in a process group of its own, which release() empties (vLLM's engine-core and worker processes
included) before it waits for the GPU's memory to come back; starting it and every request have deadlines
(generation.start_timeout_s, generation.request_timeout_s), so a hung engine ends the job with an error instead of
holding its allocation.
"""

import logging
import math
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ampli.config.schema import ConfigError
from ampli.generation.batched import prompt_ids
from ampli.generation.config import GenerationConfig
from ampli.generation.engine_process import EngineError, LineProcess
from ampli.models.sources import ModelSource

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


def check_vllm(cfg: GenerationConfig, lora_rank: int | None) -> None:
    """Refuse generation=vllm where it cannot run, before any work: an adapter rank vLLM cannot serve, no GPU, or no
    importable vllm. `lora_rank`: model.lora.r, None for full-weights training."""
    if lora_rank is not None and lora_rank > LORA_RANKS[-1]:
        raise ConfigError(f"model.lora.r={lora_rank} is not valid with generation=vllm, which serves LoRA ranks up "
                          f"to {LORA_RANKS[-1]} ({', '.join(map(str, LORA_RANKS))}); use a smaller rank, or "
                          f"generation=hf")
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
    """The smallest rank vLLM accepts that holds an adapter of rank r (check_vllm refused a larger r)."""
    return next(rank for rank in LORA_RANKS if rank >= r)


def gpu_free_bytes() -> list[int] | None:
    """Per visible GPU, the bytes no other process holds: free memory plus what this process's torch keeps cached
    (its own, not the engine's). None without CUDA (the fake engine of the tests)."""
    if not torch.cuda.is_available():
        return None
    return [torch.cuda.mem_get_info(d)[0] + torch.cuda.memory_reserved(d) for d in range(torch.cuda.device_count())]


def wait_for_gpu_memory(before: list[int] | None, cfg: GenerationConfig) -> None:
    """Return once every GPU has its memory of before the engine back (within release_tolerance_gib); raise
    EngineError after release_timeout_s, so that training does not start on a GPU it would run out of."""
    if before is None:
        return
    tolerance = cfg.release_tolerance_gib * 2**30
    deadline = time.monotonic() + cfg.release_timeout_s
    while True:
        now = gpu_free_bytes()
        missing = [(d, b - n) for d, (b, n) in enumerate(zip(before, now)) if b - n > tolerance]
        if not missing:
            return
        if time.monotonic() > deadline:
            held = ", ".join(f"GPU {d}: {m / 2**30:.1f} GiB" for d, m in missing)
            raise EngineError(
                f"GPU memory is still in use {cfg.release_timeout_s:g} s after the vLLM engine stopped ({held} more "
                f"than before it started); another process holds it (nvidia-smi names it), and training would run "
                f"out of memory. Raise generation.release_timeout_s or generation.release_tolerance_gib if this is "
                f"expected")
        time.sleep(0.5)


def request_seeds(seed: int, prompts: int, n: int) -> list[int]:
    """One seed per prompt, n apart: vLLM samples answer k of a request with n answers at the request's seed + k
    (vllm/v1/engine/parallel_sampling.py, 0.10 to 0.34), so seeds one apart would give answer k of prompt i the
    random stream of answer 0 of prompt i + k. Kept below 2**31, the seed range vLLM takes."""
    return [(seed * 1_000_003 + i * n) % (2**31 - n) for i in range(prompts)]


def attention_heads(model_path: str) -> int:
    """The model's attention heads (of its language model, for a vision-language checkpoint)."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(model_path).get_text_config().num_attention_heads


def tensor_parallel_size(cfg: GenerationConfig, heads: int, gpus: int) -> int:
    """generation.tensor_parallel_size, or (null) the most of the visible GPUs that divide the attention heads:
    vLLM splits the heads evenly over the GPUs and refuses to start otherwise (SmolLM2's 9 heads on 2 GPUs)."""
    fits = [size for size in range(1, max(gpus, 1) + 1) if heads % size == 0]
    if cfg.tensor_parallel_size is None:
        if fits[-1] < gpus:
            log.warning("vLLM runs on %d of the %d visible GPUs: the model's %d attention heads do not divide "
                        "over more", fits[-1], gpus, heads)
        return fits[-1]
    if heads % cfg.tensor_parallel_size:
        raise ConfigError(f"generation.tensor_parallel_size={cfg.tensor_parallel_size} does not divide the model's "
                          f"{heads} attention heads, which vLLM requires; use one of {', '.join(map(str, fits))}, "
                          f"or null (the most visible GPUs that do)")
    return cfg.tensor_parallel_size


class LoraRequests:
    """The LoRARequest fields for each adapter one engine serves. vLLM caches an adapter's weights by its id, so
    each checkpoint gets an id of its own, and a new one if its weights were rewritten (a resumed cycle)."""

    def __init__(self, fused_experts: bool = False):
        self._ids: dict[tuple[str, int], int] = {}  # (adapter path, its weights file's mtime) -> id, from 1
        self.fused_experts = fused_experts

    def __call__(self, adapter: Path) -> dict:
        key = (str(adapter), (adapter / "adapter_model.safetensors").stat().st_mtime_ns)
        lora_id = self._ids.setdefault(key, len(self._ids) + 1)
        request = {"name": f"{adapter.parent.name}-{lora_id}", "id": lora_id, "path": str(adapter)}
        if self.fused_experts:  # PEFT's target_parameters adapter: one 3D weight per fused expert tensor
            request["is_3d_lora_weight"] = True
        return request


class Engine:
    """One vLLM process group serving one model path; every answer has a deadline."""

    def __init__(self, python: str, settings: dict, cfg: GenerationConfig):
        self.path = settings["model"]
        self.max_model_len = settings["max_model_len"]
        self.cfg = cfg
        self.loras = LoraRequests(fused_experts=settings.get("enable_mixed_moe_lora_format", False))
        self.process = LineProcess([python, str(WORKER)])
        try:
            ready = self._answer({"engine": settings}, cfg.start_timeout_s, "generation.start_timeout_s")
        except EngineError:  # e.g. vLLM refused the settings: whatever it started goes with it
            self.process.stop({"shutdown": True}, cfg.stop_timeout_s)
            raise
        log.info("vLLM %s engine up on %s (max_model_len %d)", ready["vllm"], self.path, self.max_model_len)

    def call(self, message: dict) -> dict:
        return self._answer(message, self.cfg.request_timeout_s, "generation.request_timeout_s")

    def _answer(self, message: dict, timeout_s: float, deadline_name: str) -> dict:
        reply = self.process.ask(message, timeout_s, deadline_name)
        if reply is None:
            self.process.kill()
            raise EngineError(f"the vLLM process exited (code {self.process.exit_code()}); its error is above")
        if "error" in reply:
            raise EngineError(f"vLLM: {reply['error']}")
        return reply

    def check_lengths(self, prompts: list[list[int]], max_tokens: int) -> None:
        """A request longer than max_model_len would be refused or cut by vLLM: say which bound was wrong."""
        longest = max((len(ids) for ids in prompts), default=0) + max_tokens
        if longest > self.max_model_len:
            raise EngineError(f"a request of {longest} tokens exceeds the engine's max_model_len={self.max_model_len}; "
                              f"set generation.max_model_len >= {longest}")

    def close(self) -> None:
        """Stop the whole process group (shutdown request, then SIGTERM, then SIGKILL, stop_timeout_s apart)."""
        self.process.stop({"shutdown": True}, self.cfg.stop_timeout_s)
        log.info("vLLM engine on %s shut down", self.path)


class VLLMGenerator:
    """`max_model_len`: the longest sequence the run asks for (ampli.regimes.base.longest_sequence); the engine is
    sized for it, not for the model's own context (262,144 tokens for Qwen3-4B-Instruct-2507, a KV cache that does
    not fit a 48 GB card). `prompt_logprobs`: the run reads perplexity from the base model's engine, which then
    runs without prefix caching (vLLM versions reject the two together or give order-dependent logprobs)."""

    def __init__(self, cfg: GenerationConfig, source: ModelSource, tokenizer, checkpoint: Callable[[int], Path],
                 max_model_len: int, prompt_logprobs: bool = True):
        self.cfg = cfg
        self.source = source
        self.tokenizer = tokenizer
        self.checkpoint = checkpoint
        self.max_model_len = max_model_len
        self.prompt_logprobs = prompt_logprobs
        self.engine: Engine | None = None
        self._memory_before: list[int] | None = None  # free GPU memory before the engine started
        self._tensor_parallel: int | None = None  # read from the model's config at the first engine start

    def sample(self, model: int, prompts: list[str], *, n: int, max_new_tokens: int, temperature: float, seed: int,
               chat: bool, desc: str) -> list[str]:
        if not prompts:
            return []
        engine, lora = self._serving(model)
        log.info("%s: %d prompts x %d from vLLM", desc, len(prompts), n)
        ids = prompt_ids(self.tokenizer, prompts, chat)
        engine.check_lengths(ids, max_new_tokens)
        texts = engine.call({"generate": {
            "prompts": ids, "n": n, "max_tokens": max_new_tokens, "temperature": temperature,
            "seeds": request_seeds(seed, len(prompts), n), "lora": lora,
        }})["texts"]
        return [per_prompt[k].strip() for k in range(n) for per_prompt in texts]  # the order prompts * n

    def perplexity(self, prompts: list[str], responses: list[str], chat: bool) -> list[float]:
        engine, _ = self._serving(-1)
        starts = [len(ids) for ids in prompt_ids(self.tokenizer, prompts, chat)]
        answers = self.tokenizer(list(responses), add_special_tokens=False)["input_ids"] if responses else []
        full = [p + a for p, a in zip(prompt_ids(self.tokenizer, prompts, chat), answers)]
        engine.check_lengths(full, 1)
        logprobs = engine.call({"prompt_logprobs": {"prompts": full, "starts": starts}})["logprobs"]
        return [math.exp(-sum(lp) / len(lp)) if lp else math.nan for lp in logprobs]

    def release(self) -> None:
        """Stop the engine and wait until the GPU has its memory back (else EngineError, before any training)."""
        if self.engine is not None:
            engine, self.engine = self.engine, None
            engine.close()
            wait_for_gpu_memory(self._memory_before, self.cfg)

    def _serving(self, model: int) -> tuple[Engine, dict | None]:
        """The engine for model `model` and the LoRARequest that selects it (None: the engine's own weights)."""
        base = str(self.source.weights.path)
        if model < 0:
            return self._engine(base), None
        checkpoint = self.checkpoint(model)
        if (checkpoint / "config.json").exists():  # full weights: served as a model of their own
            return self._engine(str(checkpoint)), None
        engine = self._engine(base)
        return engine, engine.loras(checkpoint)

    def _engine(self, path: str) -> Engine:
        if self.engine is not None and self.engine.path != path:
            self.release()
        if self.engine is None:
            self._memory_before = gpu_free_bytes()
            self.engine = Engine(vllm_python(self.cfg), self._settings(path), self.cfg)
        return self.engine

    def _settings(self, path: str) -> dict:
        lora = self.source.cfg.lora
        settings = {
            "model": path, "tokenizer": str(self.source.weights.path), "dtype": str(self.source.dtype).split(".")[-1],
            "gpu_memory_utilization": self.cfg.gpu_memory_utilization, "enforce_eager": self.cfg.enforce_eager,
            "tensor_parallel_size": self._tensor_parallel_size(),
            "enable_lora": lora.enabled, "max_model_len": self.max_model_len,
        }
        if self.prompt_logprobs and path == str(self.source.weights.path):  # the engine perplexity is read from
            settings["enable_prefix_caching"] = False
        if self.source.cfg.text_only:  # a vision-language checkpoint: no image or video inputs, no encoder memory
            settings["limit_mm_per_prompt"] = {"image": 0, "video": 0}
        if lora.enabled:
            settings |= {"max_lora_rank": max_lora_rank(lora.r), "max_loras": 2}  # model n-1 and n-2 (DPO)
        if lora.enabled and lora.target_parameters:
            # Adapters on fused experts are PEFT's 3D layout, which vLLM serves on MoE models it keeps as 2D
            # (Qwen3-MoE) only in its mixed format; without it FusedMoEWithLoRA.set_lora fails on the first request.
            settings["enable_mixed_moe_lora_format"] = True
        return settings

    def _tensor_parallel_size(self) -> int:
        if self._tensor_parallel is None:
            gpus = torch.cuda.device_count()
            # One GPU (or none, the fake engine of the tests) divides anything: no config to read.
            spread = (self.cfg.tensor_parallel_size or gpus) > 1
            heads = attention_heads(str(self.source.weights.path)) if spread else 1
            self._tensor_parallel = tensor_parallel_size(self.cfg, heads, gpus)
        return self._tensor_parallel


def serving_length(cfg: GenerationConfig, needed: int) -> int:
    """generation.max_model_len, or the run's longest sequence when it is null; a value below that is refused."""
    if cfg.max_model_len is None:
        return needed
    if cfg.max_model_len < needed:
        raise ConfigError(f"generation.max_model_len={cfg.max_model_len} is below the {needed} tokens this run asks "
                          f"vLLM for (its longest prompt + max new tokens); use null (sized from the run) or a value "
                          f">= {needed}")
    return cfg.max_model_len
