"""A regime's RunContext on the micro model, and trainers captured before they train, for tests that look at
exactly what TRL was given (token ids, loss masks, adapters) without running the whole loop."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ampli.inputs.corpus import RunData
from ampli.models.chat import template_kwargs
from ampli.models.sources import ModelSource
from ampli.record.store import RunStore
from ampli.regimes import base as regimes_base
from ampli.regimes.base import RunContext
from tests.conftest import compose_config

# Chat templates for tests, written here: ChatML as many instruct models ship it (no {% generation %} markers,
# so TRL's assistant-only masking cannot be used with it), with a default system turn like SmolLM2's.
CHATML_WITHOUT_MARKERS = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def qwen3_template() -> str:
    """Qwen3's hybrid-thinking chat template, as TRL ships it."""
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / "qwen3.jinja").read_text()


@pytest.fixture
def micro_context() -> Iterator[Callable[..., RunContext]]:
    """Builds a regime's RunContext on the micro model: micro_context(overrides, run_dir, chat_template=None). Each
    context holds its run directory's lock, as a run does; the fixture releases them all when the test ends."""
    stores: list[RunStore] = []

    def build(overrides: list[str], run_dir: Path, chat_template: str | None = None) -> RunContext:
        cfg = OmegaConf.to_object(compose_config(overrides))
        source = ModelSource.create(cfg.model, Path(cfg.model_cache), "cpu")
        tokenizer = source.tokenizer()
        if chat_template is not None:
            tokenizer.chat_template = chat_template
        stores.append(RunStore(run_dir, "test"))
        return RunContext(cfg=cfg, source=source, tokenizer=tokenizer, store=stores[-1], data=RunData(cfg),
                          chat_kwargs=template_kwargs(tokenizer, cfg.model.chat_template_kwargs))

    yield build
    for store in stores:
        store.close()


def adapter_weights(model) -> dict[str, dict]:
    """Each LoRA adapter of a PEFT model as it would be saved (copies), by adapter name; {} for a plain model."""
    from peft import get_peft_model_state_dict

    return {name: {k: v.detach().clone() for k, v in get_peft_model_state_dict(model, adapter_name=name).items()}
            for name in getattr(model, "peft_config", {})}


def capture_trainers(monkeypatch, train: bool = False) -> list:
    """Record every trainer ctx.train builds, with its adapters before training (trainer.start_adapters);
    unless `train`, skip training and saving (returns zero metrics)."""
    trainers = []
    real_run_trainer = regimes_base.run_trainer

    def fake_run_trainer(trainer, checkpoint_dir, plan):
        trainer.start_adapters = adapter_weights(trainer.model)
        trainers.append(trainer)
        return real_run_trainer(trainer, checkpoint_dir, plan) if train else {"train_loss": 0.0, "train_steps": 0}

    monkeypatch.setattr(regimes_base, "run_trainer", fake_run_trainer)
    return trainers


def saved_adapter(checkpoint: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(checkpoint / "adapter_model.safetensors")
