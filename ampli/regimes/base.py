"""The interface every regime implements, and the run context they share.

A regime decides three things of the paper's method: what a cycle's training records are (cycle 0 from the
seed set, later cycles from the previous model's samples), how a model is trained on them, and which prompts
evaluate a model. Generation, judging, checkpoints and resume live once, in the loop and the context.
"""

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from ampli.config.schema import AmpliConfig
from ampli.generation import Generator
from ampli.generation.batched import prompt_ids
from ampli.inputs import corpus
from ampli.inputs.corpus import RunData
from ampli.inputs.seq_length import LengthBound, cycle_lengths
from ampli.judges.base import JudgeItem
from ampli.models.chat import render_prompt, user_turn
from ampli.models.sources import ModelSource
from ampli.models.training import refuse_data_parallel, run_trainer, show_progress, trainer_kwargs
from ampli.models.training_plan import TrainingPlan, model_label
from ampli.record.store import RunStore


# An answer decoded to text and tokenized again (the perplexity pass) can take a few more tokens than were sampled.
RETOKENIZE_SLACK = 8


@dataclass
class RunContext:
    cfg: AmpliConfig
    source: ModelSource
    tokenizer: object
    store: RunStore | None  # None only while the run checks its inputs, before its directory exists
    data: RunData
    # Keyword arguments of every chat-template rendering (ampli.models.chat.template_kwargs): thinking off, etc.
    chat_kwargs: dict[str, Any] = field(default_factory=dict)
    generator: Generator | None = None  # samples any cycle's model (ampli.generation); set by the run

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        """A question rendered as the model sees it when sampled, and as TRL renders it in training."""
        return render_prompt(self.tokenizer, user_turn(question, system), self.chat_kwargs)

    def chat_columns(self, columns: dict[str, list]) -> dict[str, list]:
        """A conversational TRL dataset's columns, plus the per-example template arguments TRL applies."""
        n = len(next(iter(columns.values())))
        return {**columns, "chat_template_kwargs": [self.chat_kwargs] * n} if self.chat_kwargs else columns

    def checkpoint(self, cycle: int) -> Path:
        return self.store.cycle_dir(cycle) / "checkpoint"

    def model_after(self, cycle: int, trainable: bool = False):
        """Model n: the base model for n < 0 (no training yet), otherwise cycle n's checkpoint."""
        return self.source.load(None if cycle < 0 else self.checkpoint(cycle), trainable=trainable)

    def train(self, plan: TrainingPlan, trainer_cls, config_cls, dataset, lengths: list[int],
              config: dict | None = None, **trainer_extra):
        """Train model n with a TRL trainer as its plan says and save it; returns (trainer, training metrics).

        `lengths` are the examples' token counts as TRL will see them: the cycle trains at a length that fits
        them (ampli.inputs.seq_length). The starting weights are the plan's; a fresh LoRA adapter is attached only when
        starting from the original weights (a continual run keeps training model n-1's adapter).
        """
        cycle = plan.cycle
        sizes = cycle_lengths(self.cfg.regime, lengths, cycle)
        model = self.model_after(plan.start, trainable=True)
        kwargs = trainer_kwargs(plan, seed=self.cycle_seed(cycle), device=self.source.device,
                                output_dir=self.store.cycle_dir(cycle) / "trainer", max_length=sizes["max_length"])
        if "max_length" not in {f.name for f in fields(config_cls)}:
            # An on-policy trainer (distill) cuts nothing: it keeps whole prompts and samples at most
            # max_completion_length tokens, which the regime sets to the length `lengths` were counted with.
            del kwargs["max_length"]
        args = config_cls(**kwargs, **(config or {}))
        trainer = trainer_cls(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=self.tokenizer,
            peft_config=self.source.lora_config() if plan.fresh else None,
            **trainer_extra,
        )
        refuse_data_parallel(trainer)
        show_progress(trainer, f"cycle_{cycle:03d} train")
        return trainer, {**run_trainer(trainer, self.checkpoint(cycle), plan), **sizes,
                         "started_from": model_label(plan.start)}

    def sample(self, model: int, prompts: list[str], *, seed: int, eval: bool = False, chat: bool = True, n: int = 1,
               desc: str, temperature: float | None = None) -> list[str]:
        """n answers per prompt from model `model` (-1: the base model; cycle n's checkpoint otherwise), flat in
        the order prompts * n; `chat`: the prompts are rendered chats (else raw text, e.g. documents).
        `temperature` replaces the loop's (distill samples at the temperature its trainer samples at)."""
        m, loop = self.cfg.model, self.cfg.loop
        if temperature is None:
            temperature = loop.eval_temperature if eval else loop.temperature
        return self.generator.sample(
            model, prompts, n=n, seed=seed, chat=chat, desc=desc,
            max_new_tokens=m.eval_max_new_tokens if eval else m.max_new_tokens, temperature=temperature,
        )

    def cycle_seed(self, cycle: int, salt: int = 0) -> int:
        return self.cfg.seed * 100_003 + cycle * 1_009 + salt


@dataclass(frozen=True)
class EvalPrompt:
    question: str  # what the judge sees as the prompt
    text: str  # what the model is given (chat-formatted, or a raw document prefix)
    chat: bool = True  # text is a rendered chat (tokenized without extra special tokens)


class Regime(Protocol):
    """One of sft, sdf, dpo, distill. Records are JSON-able dicts written to generations.jsonl."""

    def seed_rows(self, data: RunData) -> list[dict]:
        """Cycle 0's data: the first loop.seed_examples rows of the trait's seed set."""
        ...

    def cycle_pool(self, data: RunData) -> tuple[list, str]:
        """The pool later cycles draw fresh items from, and what its items are called in messages."""
        ...

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        """The training records of a cycle: from the seed set at cycle 0, else sampled from model n-1."""
        ...

    def judge_item(self, record: dict) -> JudgeItem:
        """The (prompt, response) a record contributes to the judge: the sample the next model trains on."""
        ...

    def train(self, ctx: RunContext, plan: TrainingPlan, records: list[dict]) -> dict:
        """Train model n on the records as the cycle's plan says, save it to ctx.checkpoint(n), return training
        metrics."""
        ...

    def length_bound(self, ctx: RunContext) -> LengthBound:
        """The longest training example the run can produce (seed examples, prompts + model.max_new_tokens)."""
        ...

    def eval_prompts(self, ctx: RunContext) -> list[EvalPrompt]: ...


def check_data(regime: Regime, data: RunData) -> None:
    """Read every file the run will draw from, so missing, empty, malformed or too-small data fails before any
    model is built or sampled, not cycles into a run."""
    regime.seed_rows(data)
    data.prompt_pool("eval")
    corpus.cycle_share(data.cfg, 1, *regime.cycle_pool(data))


def longest_sequence(regime: Regime, ctx: RunContext) -> int:
    """The most tokens one request of the run can reach (what sizes a vLLM engine): a sampled prompt +
    model.max_new_tokens (the bound training uses; seed examples count whole, since DPO answers seed prompts at
    cycle 0), or an eval prompt + model.eval_max_new_tokens (the perplexity pass scores those answers too)."""
    bound = regime.length_bound(ctx)
    model = ctx.cfg.model
    sampled = max(bound.longest_prompt, bound.longest_seed) + model.max_new_tokens
    questions = regime.eval_prompts(ctx)
    evals = prompt_ids(ctx.tokenizer, [p.text for p in questions], all(p.chat for p in questions))  # as the loop asks
    return max(sampled, max(map(len, evals), default=0) + model.eval_max_new_tokens) + RETOKENIZE_SLACK
