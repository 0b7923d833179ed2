"""A regime trained on the Tinker service: the regime's own records, judging items, eval prompts and length checks,
with only its training step replaced (ampli.regimes builds the data; this module sends it), as the cycle's plan
(ampli.models.training_plan) says: the same start model, reference or teacher, steps and learning rates as a local
cycle."""

from ampli.backends.tinker.datums import WeightedTokens, answer_sequences, document_sequences
from ampli.backends.tinker.distill import distill
from ampli.backends.tinker.sampling import TinkerGenerator
from ampli.backends.tinker.training import TinkerTrainer
from ampli.inputs.seq_length import cycle_lengths
from ampli.models.training_plan import TrainingPlan, model_label
from ampli.regimes.base import Regime, RunContext


def chat_prompts(ctx: RunContext, records: list[dict]) -> list[str]:
    return [ctx.chat_prompt(r["prompt"], r.get("system")) for r in records]


def fit_length(ctx: RunContext, plan: TrainingPlan, sequences: list[WeightedTokens]) -> tuple[list, dict]:
    """The sequences at the cycle's training length (ampli.inputs.seq_length decides it, as for a local cycle): an
    explicit regime.max_length that would cut one is refused unless allow_truncation, which cuts them as TRL does (the
    first max_length tokens kept)."""
    sizes = cycle_lengths(ctx.cfg.regime, [len(s.tokens) for s in sequences], plan.cycle)
    limit = sizes["max_length"]
    return [WeightedTokens(s.tokens[:limit], s.weights[:limit]) for s in sequences], sizes


class TinkerRegime:
    def __init__(self, regime: Regime, trainer: TinkerTrainer, generator: TinkerGenerator):
        self.regime, self.trainer, self.generator = regime, trainer, generator

    def __getattr__(self, name):  # everything but train is the regime's own
        return getattr(self.regime, name)

    def train(self, ctx: RunContext, plan: TrainingPlan, records: list[dict]) -> dict:
        """Model n on the service, from a fresh adapter or model n-1's training state, as the plan says."""
        trainer, sizes = self.trainer, {}
        start = trainer.start(plan)
        if plan.loss == "dpo":
            prompts = chat_prompts(ctx, records)
            chosen, sizes = fit_length(ctx, plan, answer_sequences(ctx.tokenizer, prompts,
                                                                   [r["chosen"] for r in records]))
            rejected, _ = fit_length(ctx, plan, answer_sequences(ctx.tokenizer, prompts,
                                                                 [r["rejected"] for r in records]))
            metrics = {**trainer.dpo(start, list(zip(chosen, rejected))), "reference": model_label(plan.reference)}
        elif plan.loss == "document":
            docs, sizes = fit_length(ctx, plan, document_sequences(ctx.tokenizer,
                                                                  [r["prompt"] + r["response"] for r in records]))
            metrics = trainer.supervised(start, docs)
        elif plan.loss == "distill":
            metrics = {**distill(trainer, self.generator, start, chat_prompts(ctx, records), ctx.tokenizer),
                       "teacher": model_label(plan.teacher), "student_start": model_label(plan.start)}
        else:  # completion: sft, and distill's cycle 0 (SFT on the seed set)
            answers, sizes = fit_length(ctx, plan, answer_sequences(ctx.tokenizer, chat_prompts(ctx, records),
                                                                   [r["response"] for r in records]))
            metrics = trainer.supervised(start, answers)
        return {**metrics, **sizes, **trainer.finish(start), "backend": "tinker", "n_examples": len(records),
                "batch_size": plan.batch_size, "started_from": model_label(plan.start)}
