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
    # None: the model's own context length.
    max_model_len: int | None = None
    # None: every visible GPU.
    tensor_parallel_size: int | None = None
    enforce_eager: bool = False
    # Seconds to wait for the engine to load the model, and for it to exit after a shutdown request.
    start_timeout_s: float = 1800.0
    stop_timeout_s: float = 120.0
