"""generation=hf: transformers' generate() in the run's own process, one base model per span of generation.

Loading a model from disk for every answer set (model n-1's samples, the base model's DPO rejected answers,
model n's eval, the base model's perplexity) reads the base weights several times a cycle, and a second base copy
stayed resident for perplexity. Here the base model is loaded once per span between trainings; each cycle's LoRA
adapter is loaded onto it once, under its own name, and switched in (PEFT set_adapter); the base model's own
answers and perplexity run with the adapters disabled. Full-weights checkpoints (the embedded tiny model, LoRA
off) are whole models: the one in use is kept beside the base.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch
from peft import PeftModel

from ampli.generation.batched import generate, prompt_ids
from ampli.models.sources import ModelSource, free_memory

CPU_BATCH_SIZE = 32
MAX_BATCH_SIZE = 256
KV_SHARE_OF_FREE_MEMORY = 0.6  # the rest is left for activations, logits and the allocator's slack


def auto_batch_size(config, tokens: int, dtype_bytes: int, free_bytes: int | None) -> int:
    """Sequences per generate() call that fit the free GPU memory (CPU_BATCH_SIZE on the CPU): each holds a KV cache
    of 2 (keys, values) x layers x KV heads x head_dim values for each of its `tokens` tokens."""
    if free_bytes is None:
        return CPU_BATCH_SIZE
    text = config.get_text_config()
    kv_heads = getattr(text, "num_key_value_heads", None) or text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    per_sequence = 2 * text.num_hidden_layers * kv_heads * head_dim * dtype_bytes * tokens
    return max(1, min(MAX_BATCH_SIZE, int(KV_SHARE_OF_FREE_MEMORY * free_bytes) // per_sequence))


def free_gpu_bytes(model) -> int | None:
    device = next(model.parameters()).device
    return torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else None


class HFGenerator:
    def __init__(self, source: ModelSource, tokenizer, checkpoint: Callable[[int], Path], batch_size: int | None):
        self.source = source
        self.tokenizer = tokenizer
        self.checkpoint = checkpoint
        self.batch_size = batch_size  # None: sized from the model and the GPU's free memory
        self._base = None  # the base model; a PeftModel once an adapter is loaded onto it
        self._full: tuple[int, object] | None = None  # (cycle, model) of the full-weights checkpoint in use

    def sample(self, model: int, prompts: list[str], *, n: int, max_new_tokens: int, temperature: float, seed: int,
               chat: bool, desc: str) -> list[str]:
        with self._model(model) as m:
            longest = max((len(ids) for ids in prompt_ids(self.tokenizer, prompts, chat)), default=0)
            batch_size = self.batch_size or auto_batch_size(m.config, longest + max_new_tokens,
                                                            m.dtype.itemsize, free_gpu_bytes(m))
            return generate(m, self.tokenizer, prompts * n, max_new_tokens=max_new_tokens, temperature=temperature,
                            batch_size=batch_size, seed=seed, chat=chat, desc=desc)

    def perplexity(self, prompts: list[str], responses: list[str], chat: bool) -> list[float]:
        from ampli.generation.perplexity import perplexity

        with self._model(-1) as base:
            return perplexity(base, self.tokenizer, prompts, responses, chat=chat)

    def model(self, index: int):
        """Model `index` as this engine samples it, inside a `with` (the persona probe reads its activations)."""
        return self._model(index)

    def release(self) -> None:
        self._base = self._full = None
        free_memory()

    @contextmanager
    def _model(self, index: int) -> Iterator:
        """Model `index` ready to sample: the base (adapters off), or the base with cycle `index`'s adapter on, or
        cycle `index`'s own full weights."""
        if index < 0:
            base = self._base_model()
            with base.disable_adapter() if isinstance(base, PeftModel) else nullcontext():
                yield base
        elif (self.checkpoint(index) / "config.json").exists():
            yield self._full_weights(index)
        else:
            yield self._with_adapter(index)

    def _base_model(self):
        if self._base is None:
            self._base = self.source.load()
        return self._base

    def _with_adapter(self, index: int):
        name, path = f"cycle_{index:03d}", str(self.checkpoint(index))
        base = self._base_model()
        if not isinstance(base, PeftModel):
            self._base = base = PeftModel.from_pretrained(base, path, adapter_name=name)
        elif name not in base.peft_config:
            base.load_adapter(path, adapter_name=name)
        base.set_adapter(name)
        return base.eval()

    def _full_weights(self, index: int):
        if self._full is None or self._full[0] != index:
            self._full = None
            free_memory()
            self._full = (index, self.source.load(self.checkpoint(index)))
        return self._full[1]
