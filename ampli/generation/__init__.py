"""Sampling a cycle's model: one small interface, two engines, chosen with `generation=`.

The loop and the regimes ask for answers of "model n" (n = -1: the base model; n >= 0: cycle n's checkpoint) and
for the base model's perplexity of answers; the engine decides how. `hf` (ampli.generation.hf) keeps one base
model for a span of generation stages and switches each cycle's LoRA adapter in on it; `vllm`
(ampli.generation.vllm_engine) serves the same requests from a vLLM engine in a subprocess. Either engine holds GPU
memory only between trainings: the loop calls release() before every training stage.

Answers come back flat in the order `prompts * n` (all prompts for the first sample, then again for the next),
the layout the eval files have always had.

May import: config, record, hosted, inputs, models (the packages below it in ampli.LAYERS).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from ampli.config.schema import AmpliConfig
    from ampli.models.sources import ModelSource


class Generator(Protocol):
    def sample(self, model: int, prompts: list[str], *, n: int, max_new_tokens: int, temperature: float, seed: int,
               chat: bool, desc: str) -> list[str]:
        """n answers per prompt from model `model`, flat in the order prompts * n."""
        ...

    def perplexity(self, prompts: list[str], responses: list[str], chat: bool) -> list[float]:
        """exp(mean NLL) of each response given its prompt under the base model (nan for an empty response)."""
        ...

    def release(self) -> None:
        """Free every model or engine held, so the GPU's memory is the trainer's."""
        ...


def check_generation(cfg: "AmpliConfig") -> None:
    """Refuse an engine that cannot run here (vllm: an adapter rank it cannot serve, no GPU, no vllm to import, a
    judge that holds the GPU), before any work."""
    if cfg.generation.backend == "vllm":
        from ampli.config.schema import ConfigError
        from ampli.generation.vllm_engine import check_vllm

        if cfg.judge.backend == "hf" and cfg.judge.device != "cpu":
            # The HF judge keeps its model on the GPU for the whole run; a vLLM engine starts only with
            # generation.gpu_memory_utilization of the card free, so it would refuse at its first start.
            raise ConfigError(f"judge=hf (judge.device={cfg.judge.device}) with generation=vllm: the judge holds its "
                              f"model on the GPU for the whole run, and the vLLM engine needs "
                              f"generation.gpu_memory_utilization={cfg.generation.gpu_memory_utilization} of the card "
                              f"free when it starts; use judge.device=cpu, a judge served over HTTP (judge=openai "
                              f"with judge.base_url of a vLLM server), or generation=hf")
        check_vllm(cfg.generation, cfg.model.lora.r if cfg.model.lora.enabled else None)


def build_generator(cfg: "AmpliConfig", source: "ModelSource", tokenizer, checkpoint: Callable[[int], Path],
                    longest_sequence: Callable[[], int]) -> Generator:
    """The engine named by cfg.generation.backend; `checkpoint(n)` is where cycle n's model is saved;
    `longest_sequence()` the most tokens (prompt and answer) the run asks for, which sizes a vLLM engine."""
    if cfg.generation.backend == "vllm":
        from ampli.generation.vllm_engine import VLLMGenerator, serving_length

        return VLLMGenerator(cfg.generation, source, tokenizer, checkpoint,
                             max_model_len=serving_length(cfg.generation, longest_sequence()),
                             prompt_logprobs=cfg.judge.perplexity)
    from ampli.generation.hf import HFGenerator

    return HFGenerator(source, tokenizer, checkpoint, batch_size=cfg.model.generation_batch_size)
