"""A regime trained on the Tinker service: the regime's own records, judging items, eval prompts and length checks,
with only its training step replaced (ampli.regimes builds the data; this module sends it)."""

from ampli.regimes.base import Regime, RunContext
from ampli.regimes.dpo import model_label, reference_model
from ampli.tinker_backend.datums import answer_sequences, document_sequences
from ampli.tinker_backend.distill import distill
from ampli.tinker_backend.sampling import TinkerGenerator
from ampli.tinker_backend.training import TinkerTrainer


def chat_prompts(ctx: RunContext, records: list[dict]) -> list[str]:
    return [ctx.chat_prompt(r["prompt"], r.get("system")) for r in records]


class TinkerRegime:
    def __init__(self, regime: Regime, trainer: TinkerTrainer, generator: TinkerGenerator):
        self.regime, self.trainer, self.generator = regime, trainer, generator

    def __getattr__(self, name):  # everything but train is the regime's own
        return getattr(self.regime, name)

    def train(self, ctx: RunContext, cycle: int, records: list[dict]) -> dict:
        """Model n on the service, from a fresh adapter (reinit, cycle 0) or model n-1's state (continual)."""
        cfg, trainer = ctx.cfg, self.trainer
        start = trainer.start(cycle, None if cfg.reinit or cycle == 0 else cycle - 1)
        name = cfg.regime.name
        if name == "dpo":
            reference = reference_model(cycle, cfg.reinit)
            prompts = chat_prompts(ctx, records)
            pairs = list(zip(answer_sequences(ctx.tokenizer, prompts, [r["chosen"] for r in records]),
                             answer_sequences(ctx.tokenizer, prompts, [r["rejected"] for r in records])))
            metrics = {**trainer.dpo(start, pairs, reference), "reference": model_label(reference)}
        elif name == "sdf":
            metrics = trainer.supervised(start, document_sequences(ctx.tokenizer, [r["prompt"] + r["response"]
                                                                                   for r in records]))
        elif name == "distill" and cycle > 0:
            prompts = list(dict.fromkeys(chat_prompts(ctx, records)))  # records repeat a prompt group_size times
            metrics = {**distill(trainer, self.generator, start, prompts, cycle - 1, ctx.tokenizer),
                       "teacher": model_label(cycle - 1)}
        else:  # sft, and distill's cycle 0 (SFT on the seed set)
            metrics = trainer.supervised(start, answer_sequences(ctx.tokenizer, chat_prompts(ctx, records),
                                                                 [r["response"] for r in records]))
        return {**metrics, **trainer.finish(start), "backend": "tinker", "lora_rank": trainer.service.cfg.lora_rank,
                "n_examples": len(records), "batch_size": trainer.batch_size(cycle),
                "started_from": model_label(start.from_cycle if start.from_cycle is not None else -1)}
