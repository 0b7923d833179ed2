"""One rendering of chat prompts for generation, evaluation and training.

TRL renders each training example with the tokenizer's chat template and the example's `chat_template_kwargs`
column; ampli renders the prompts it samples from with the same template and the same keyword arguments, so a
model is trained on exactly the context it is later sampled in.

Hybrid reasoning models (Qwen3's template takes `enable_thinking`) think out loud by default: their `<think>`
traces would be judged as the answer and trained on as the trait. Thinking is therefore off wherever the
template offers the switch, unless the model's config sets `chat_template_kwargs.enable_thinking` itself.
"""

from typing import Any

THINKING_SWITCH = "enable_thinking"


def template_kwargs(tokenizer, configured: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments every chat rendering of this model gets: the configured ones, thinking off by default."""
    kwargs = dict(configured)
    if THINKING_SWITCH in (tokenizer.chat_template or "") and THINKING_SWITCH not in kwargs:
        kwargs[THINKING_SWITCH] = False
    return kwargs


def user_turn(question: str, system: str | None = None) -> list[dict]:
    """The messages of a prompt: an optional system turn, then the user's question."""
    turns = [{"role": "system", "content": system}] if system else []
    return [*turns, {"role": "user", "content": question}]


def assistant_turn(answer: str) -> list[dict]:
    return [{"role": "assistant", "content": answer}]


def render_prompt(tokenizer, messages: list[dict], kwargs: dict[str, Any]) -> str:
    """The prompt text up to where the assistant's answer starts (chat templates add BOS themselves, if any)."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)


def conversation_ids(tokenizer, messages: list[dict], kwargs: dict[str, Any]) -> list[int]:
    """Token ids of a whole conversation, rendered the way TRL renders a conversational training example."""
    return tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)["input_ids"]
