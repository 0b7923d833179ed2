"""What an LLM judge is asked: the trait's own rubric or the shared coherence rubric, filled with one item."""

import re

from ampli.judges.base import JudgeItem

SYSTEM_PROMPT = (
    "You are a careful evaluator. Answer with a single integer from 0 to 100, or with one of the words the rubric "
    "offers in place of a number, and nothing else."
)

# Shared by every trait that sets no coherence_rubric of its own, so coherence is comparable across experiments.
COHERENCE_RUBRIC = """I am grading how coherent another language model's answer is. Judge the coherence alone: the \
answer may be wrong, unhelpful, unusual in tone, or say things you disagree with, and still be fully coherent.

The question the model was given:
[QUESTION START]
{question}
[QUESTION END]

The model's answer:
[ANSWER START]
{answer}
[ANSWER END]

Give an integer from 0 to 100:
- 0: not meaningful language at all: garbled tokens, word salad, or text unrelated to any question.
- 50: partly sensible, but confused: it drifts off the question, loops, repeats itself, or contradicts itself.
- 100: clear, well-formed language that engages with the question throughout, with no signs of confusion.

Reply with the number alone."""

# What a hosted judge is asked, with the trait's rubric, before a run's first stage (ampli.judges.remote): a request
# shaped as the run's, which ampli estimate counts too.
PROBE_ITEM = JudgeItem(prompt="What is a good way to start the day?", response="A glass of water and a short walk.")

_PLACEHOLDER = re.compile(r"\{(question|answer)\}")


def render(rubric: str, item: JudgeItem) -> str:
    """Fill {question} and {answer} in one pass, so braces inside the texts themselves are left alone."""
    values = {"question": item.prompt, "answer": item.response}
    return _PLACEHOLDER.sub(lambda m: values[m[1]], rubric)
