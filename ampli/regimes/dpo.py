"""DPO, the paper's protocol: the trait is pushed by preferring the previous model's samples over the base's.

Pairs (records {"id", "prompt", "chosen", "rejected", "chosen_from", "rejected_from"[, "system"]}):
  cycle 0: chosen = the seed answer,            rejected = the base model's answer
  cycle n: chosen = model n-1's sample,          rejected = the base model's sample
           (regime.rejected_source=previous:     rejected = model n-2's sample; the base for n = 1)
Reference model: reinit=true -> the base model (fresh LoRA, or the original weights); reinit=false -> model n-1,
which is also where the trained weights start.
"""

from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from ampli import corpus
from ampli.config import RegimeConfig
from ampli.generation import chat_prompt, user_turns
from ampli.judges.base import JudgeItem
from ampli.regimes.base import RunContext
from ampli.regimes.sft import SFTRegime

BASE = -1  # "model -1" is the base model throughout


def pair_sources(cycle: int, rejected_source: str) -> tuple[int | str, int]:
    """Which model writes the chosen and the rejected answer of a cycle's pairs ('seed' or a model index)."""
    chosen = "seed" if cycle == 0 else cycle - 1
    rejected = BASE if rejected_source == "base" or cycle < 2 else cycle - 2
    return chosen, rejected


def reference_model(cycle: int, reinit: bool) -> int:
    """The DPO reference: the base model under reinit, model n-1 when continual."""
    return BASE if reinit or cycle == 0 else cycle - 1


def model_label(index: int | str) -> str:
    return "seed" if index == "seed" else "base" if index == BASE else f"model_{index}"


def dpo_options(regime: RegimeConfig) -> dict:
    options = {"beta": regime.beta, "loss_type": list(regime.loss_type)}
    if regime.loss_weights is not None:
        options["loss_weights"] = list(regime.loss_weights)
    return options


def reference_weights(trainer: DPOTrainer) -> str:
    """Where the reference the trainer actually used came from, recorded so a run can be audited."""
    if trainer.ref_model is not None:
        return trainer.ref_model.config._name_or_path
    has_ref_adapter = "ref" in getattr(trainer.model, "peft_config", {})
    return "frozen copy of the previous adapter" if has_ref_adapter else "base model (adapter disabled)"


class DPORegime(SFTRegime):
    """Draws from the same seed set and prompt pool as SFT, and is evaluated the same way."""

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        chosen_from, rejected_from = pair_sources(cycle, ctx.cfg.regime.rejected_source)
        if cycle == 0:
            seeds = self.seed_rows(ctx.data)
            questions, chosen = [r["prompt"] for r in seeds], [r["answer"] for r in seeds]
            systems = [r.get("system") for r in seeds]
        else:
            questions = self.questions(ctx, cycle)
            systems = [None] * len(questions)
            chosen = self.answers(ctx, chosen_from, questions, systems, cycle, salt=0)
        rejected = self.answers(ctx, rejected_from, questions, systems, cycle, salt=1)
        return [
            {"id": f"c{cycle}p{i}", "prompt": q, "chosen": c, "rejected": r,
             "chosen_from": model_label(chosen_from), "rejected_from": model_label(rejected_from),
             **corpus.system_field(s)}
            for i, (q, c, r, s) in enumerate(zip(questions, chosen, rejected, systems))
        ]

    def answers(self, ctx: RunContext, model_index: int, questions: list[str], systems: list[str | None],
                cycle: int, salt: int) -> list[str]:
        model = ctx.model_after(model_index)
        return ctx.sample(model, [chat_prompt(ctx.tokenizer, q, s) for q, s in zip(questions, systems)],
                          seed=ctx.cycle_seed(cycle, salt), desc=f"cycle {cycle} {model_label(model_index)}")

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["chosen"])

    def train(self, ctx: RunContext, cycle: int, records: list[dict]) -> dict:
        ref_index = reference_model(cycle, ctx.cfg.reinit)
        # With LoRA, TRL takes the reference from the adapter: switched off for a fresh one (the base model),
        # a frozen copy for a continued one (model n-1). Full finetuning needs the reference given explicitly.
        ref_model = None if ctx.source.lora_config() else ctx.model_after(ref_index)
        dataset = Dataset.from_dict({
            "prompt": [user_turns(r["prompt"], r.get("system")) for r in records],
            "chosen": [[{"role": "assistant", "content": r["chosen"]}] for r in records],
            "rejected": [[{"role": "assistant", "content": r["rejected"]}] for r in records],
        })
        trainer, metrics = ctx.train(cycle, DPOTrainer, DPOConfig, dataset, config=dpo_options(ctx.cfg.regime),
                                     ref_model=ref_model)
        rewards = [h for h in trainer.state.log_history if "rewards/accuracies" in h]
        if rewards:
            metrics["reward_accuracy"] = rewards[-1]["rewards/accuracies"]
            metrics["reward_margin"] = rewards[-1]["rewards/margins"]
        return {**metrics, "reference": model_label(ref_index), "reference_weights": reference_weights(trainer)}
