"""Generation-engine settings, selected with `generation=` (conf/generation/*.yaml)."""

from dataclasses import dataclass

GENERATION_BACKENDS = ("hf", "vllm")


@dataclass
class GenerationConfig:
    name: str = "hf"
    backend: str = "hf"
    # vllm: the Python of the environment vLLM is installed in (`make vllm` makes .venv-vllm; vLLM pins its own
    # torch and transformers, so it cannot share the project's). None: $AMPLI_VLLM_PYTHON, else .venv-vllm.
    python: str | None = None
    gpu_memory_utilization: float = 0.85
    # None: the run's longest sequence (longest prompt + max new tokens, as training sizes it), not the model's own
    # context, whose KV cache may not fit the card; an explicit value below the run's longest is refused.
    max_model_len: int | None = None
    # None: every visible GPU.
    tensor_parallel_size: int | None = None
    enforce_eager: bool = False
    # Seconds to wait for the engine to load the model, and for the answer to one request (a cycle's samples).
    start_timeout_s: float = 1800.0
    request_timeout_s: float = 3600.0
    # Seconds for the engine to exit after a shutdown request, and again after SIGTERM to its process group before
    # SIGKILL.
    stop_timeout_s: float = 120.0
    # After the engine stopped: how long to wait for each GPU to have its memory of before the engine back, and the
    # GiB that may still be missing (other processes' noise); past the deadline the run stops before training.
    release_timeout_s: float = 120.0
    release_tolerance_gib: float = 1.0
