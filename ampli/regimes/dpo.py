"""DPO, the paper's protocol: the trait is pushed by preferring the previous model's samples over the base's.

Pairs (records {"id", "prompt", "chosen", "rejected", "chosen_from", "rejected_from"[, "system"]}):
  cycle 0: chosen = the seed answer,            rejected = the base model's answer
  cycle n: chosen = model n-1's sample,          rejected = the base model's sample
           (regime.rejected_source=previous:     rejected = model n-2's sample; the base for n = 1)
Reference model: reinit=true -> the base model (fresh LoRA, or the original weights); reinit=false -> model n-1,
which is also where the trained weights start (but for cycles in regime.restart_from_base_cycles: the base model).
"""

from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from ampli.config.schema import RegimeConfig
from ampli.inputs import corpus
from ampli.judges.base import JudgeItem
from ampli.models.chat import assistant_turn
from ampli.models.training_plan import BASE, TrainingPlan, model_label
from ampli.regimes.base import RunContext
from ampli.regimes.sft import SFTRegime, chat_lengths, prompt_turns

def pair_sources(cycle: int, rejected_source: str) -> tuple[int | str, int]:
    """Which model writes the chosen and the rejected answer of a cycle's pairs ('seed' or a model index)."""
    chosen = "seed" if cycle == 0 else cycle - 1
    rejected = BASE if rejected_source == "base" or cycle < 2 else cycle - 2
    return chosen, rejected


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
            seeds = self.seed_records(ctx)
            chosen = [r["response"] for r in seeds]
        else:
            seeds = [{"prompt": q} for q in self.questions(ctx, cycle)]
            chosen = self.answers(ctx, chosen_from, seeds, cycle, salt=0)
        rejected = self.answers(ctx, rejected_from, seeds, cycle, salt=1)
        return [
            {"id": f"c{cycle}p{i}", "prompt": s["prompt"], "chosen": c, "rejected": r,
             "chosen_from": model_label(chosen_from), "rejected_from": model_label(rejected_from),
             **corpus.system_field(s.get("system"))}
            for i, (s, c, r) in enumerate(zip(seeds, chosen, rejected))
        ]

    def answers(self, ctx: RunContext, model_index: int, prompts: list[dict], cycle: int, salt: int) -> list[str]:
        return ctx.sample(model_index, [ctx.chat_prompt(p["prompt"], p.get("system")) for p in prompts],
                          seed=ctx.cycle_seed(cycle, salt), desc=f"cycle {cycle} {model_label(model_index)}")

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["chosen"])

    def train(self, ctx: RunContext, plan: TrainingPlan, records: list[dict]) -> dict:
        ref_index = plan.reference  # the base model when the cycle starts from it (reinit, cycle 0, a restart)
        # With LoRA, TRL takes the reference from the adapter: switched off for a fresh one (the base model),
        # a frozen copy for a continued one (model n-1). Full finetuning needs the reference given explicitly.
        ref_model = None if ctx.source.lora_config() else ctx.model_after(ref_index)
        prompts = [prompt_turns(r) for r in records]
        chosen = [assistant_turn(r["chosen"]) for r in records]
        rejected = [assistant_turn(r["rejected"]) for r in records]
        dataset = Dataset.from_dict(ctx.chat_columns({"prompt": prompts, "chosen": chosen, "rejected": rejected}))
        # TRL cuts prompt+chosen and prompt+rejected at max_length: the longer of the two must fit
        lengths = [max(a, b) for a, b in zip(chat_lengths(ctx, [p + c for p, c in zip(prompts, chosen)]),
                                             chat_lengths(ctx, [p + r for p, r in zip(prompts, rejected)]))]
        trainer, metrics = ctx.train(plan, DPOTrainer, DPOConfig, dataset, lengths,
                                     config=dpo_options(ctx.cfg.regime), ref_model=ref_model)
        rewards = [h for h in trainer.state.log_history if "rewards/accuracies" in h]
        if rewards:
            metrics["reward_accuracy"] = rewards[-1]["rewards/accuracies"]
            metrics["reward_margin"] = rewards[-1]["rewards/margins"]
        return {**metrics, "reference": model_label(ref_index), "reference_weights": reference_weights(trainer)}
