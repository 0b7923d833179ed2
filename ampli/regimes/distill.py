"""On-policy distillation, the authors' second variant: the next model learns model n-1's distribution, not its text.

Cycle 0 is SFT on the seed set, as in regime=sft. From cycle 1 on, model n-1 is the teacher and a student is trained
with TRL's DistillationTrainer: for every prompt it samples regime.group_size answers itself (at regime.temperature,
up to model.max_new_tokens tokens), afresh as it learns, and is pushed toward the teacher by the per-token reverse
KL(student || teacher), weighted by regime.kl_coef: over the whole vocabulary (regime.kl_estimator=full, TRL's beta=1),
or estimated from the sampled tokens as a policy gradient (sampled, the authors'; ampli.regimes.sampled_kl).

Where the student starts:
  reinit=true   the original weights (a fresh LoRA adapter on real models): each cycle learns model n-1's
                distribution from scratch, as an SFT cycle learns model n-1's samples.
  reinit=false  model n-1's weights (its adapter, trained on): the student starts as the teacher, so the KL and its
                gradient start at 0. A continual cycle cannot pull the model anywhere; it can only drift (sampling
                noise, float rounding, weight decay), and that drift is what a continual run measures.

Records {"id", "prompt", "response", "source"[, "system"]}: the student's own samples as it starts the cycle,
regime.group_size per prompt (the base model's under reinit, model n-1's when continual); the judge scores them.
Training uses their prompts, one on-policy sample per record, drawn by the student while it learns (a record whose
sample is blank is dropped, as in every regime). train.json adds the student's reverse KL to the teacher on fixed
sequences when training starts and ends.
"""

import torch
from datasets import Dataset
from transformers import TrainerCallback

from ampli.generation.batched import prompt_ids
from ampli.models.training_plan import PlanNotFollowed, TrainingPlan, model_label, start_model
from ampli.regimes.base import RunContext
from ampli.regimes.sampled_kl import KLDistillationConfig, KLDistillationTrainer
from ampli.regimes.sft import SFTRegime, prompt_turns

KL_PROBE_SEQUENCES = 32  # records whose (prompt, sample) measure the KL to the teacher before and after a cycle


@torch.no_grad()
def reverse_kl(student, teacher, sequences: list[tuple[list[int], int]], temperature: float = 1.0) -> float:
    """Mean per-token KL(student || teacher) over the answer tokens of fixed (token ids, answer start) sequences,
    with both next-token distributions at `temperature`: the quantity the distillation loss lowers."""
    device = next(student.parameters()).device
    total, tokens = 0.0, 0
    for ids, start in sequences:
        x = torch.tensor([ids], device=device)
        logp_s, logp_t = (torch.log_softmax(m(input_ids=x).logits[0, start - 1 : -1].float() / temperature, -1)
                          for m in (student, teacher))
        total += (logp_s.exp() * (logp_s - logp_t)).sum().item()
        tokens += len(ids) - start
    return total / max(tokens, 1)


def answer_sequences(ctx: RunContext, records: list[dict], limit: int = KL_PROBE_SEQUENCES) -> list[tuple[list, int]]:
    """Token ids of the first `limit` records with an answer, as (prompt + answer, where the answer starts)."""
    records = [r for r in records if r["response"].strip()][:limit]
    prompts = prompt_ids(ctx.tokenizer, [ctx.chat_prompt(r["prompt"], r.get("system")) for r in records], chat=True)
    answers = ctx.tokenizer([r["response"] for r in records], add_special_tokens=False)["input_ids"]
    return [(p + a, len(p)) for p, a in zip(prompts, answers)]


class TeacherDistance(TrainerCallback):
    """The student's reverse KL to the teacher on fixed sequences, when training starts and when it ends."""

    def __init__(self, teacher, sequences: list[tuple[list[int], int]], temperature: float):
        self.teacher, self.sequences, self.temperature = teacher, sequences, temperature
        self.kl: dict[str, float] = {}

    def measure(self, when: str, model) -> None:
        self.kl[when] = reverse_kl(model, self.teacher, self.sequences, self.temperature)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.measure("start", model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.measure("end", model)


def logged_mean(log_history: list[dict], key: str) -> float | None:
    values = [h[key] for h in log_history if h.get(key) is not None]
    return sum(values) / len(values) if values else None


class DistillRegime(SFTRegime):
    """Draws from the same seed set and prompt pool as SFT, and is evaluated the same way."""

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        if cycle == 0:
            return self.seed_records(ctx)
        questions, start = self.questions(ctx, cycle), start_model(ctx.cfg, cycle)  # the student's start
        answers = ctx.sample(start, [ctx.chat_prompt(q) for q in questions], n=ctx.cfg.regime.group_size,
                             seed=ctx.cycle_seed(cycle), temperature=ctx.cfg.regime.temperature,
                             desc=f"cycle {cycle} student samples")
        k = len(questions)  # answers come as questions * group_size: sample s of prompt p at s * k + p
        return [{"id": f"c{cycle}p{i % k}s{i // k}", "prompt": questions[i % k], "response": a,
                 "source": model_label(start)} for i, a in enumerate(answers)]

    def train(self, ctx: RunContext, plan: TrainingPlan, records: list[dict]) -> dict:
        cycle = plan.cycle
        if cycle == 0:
            return super().train(ctx, plan, records)
        regime, max_new_tokens = ctx.cfg.regime, ctx.cfg.model.max_new_tokens
        dataset = Dataset.from_dict({"prompt": [prompt_turns(r) for r in records]})
        # What TRL builds: the whole prompt, then at most max_completion_length sampled tokens
        rendered = [ctx.chat_prompt(r["prompt"], r.get("system")) for r in records]
        lengths = [len(ids) + max_new_tokens for ids in prompt_ids(ctx.tokenizer, rendered, chat=True)]
        teacher = ctx.model_after(plan.teacher)
        distance = TeacherDistance(teacher, answer_sequences(ctx, records), regime.temperature)
        config = {"beta": 1.0, "kl_coef": regime.kl_coef, "kl_estimator": plan.kl_estimator,
                  "temperature": regime.temperature,
                  "max_completion_length": max_new_tokens, "chat_template_kwargs": ctx.chat_kwargs,
                  "disable_dropout": True}
        trainer, metrics = ctx.train(plan, KLDistillationTrainer, KLDistillationConfig, dataset, lengths,
                                     config=config, teacher_model=teacher, callbacks=[distance])
        args, history = trainer.args, trainer.state.log_history
        per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps
        sampled_kl = logged_mean(history, "sampled_kl")  # logged only by the sampled estimator's loss
        if (sampled_kl is not None) != (plan.kl_estimator == "sampled"):
            raise PlanNotFollowed(f"cycle {cycle}'s plan says kl_estimator={plan.kl_estimator}, but the trainer "
                                  f"{'did not compute' if sampled_kl is None else 'computed'} the sampled estimator")
        return {
            **metrics,
            "teacher": model_label(plan.teacher),
            "student_start": model_label(plan.start),
            "kl_to_teacher_start": distance.kl["start"],
            "kl_to_teacher_end": distance.kl["end"],
            "onpolicy_samples": trainer.state.global_step * per_step,  # TRL drops an incomplete last batch
            "onpolicy_mean_length": logged_mean(history, "completions/mean_length"),
            "onpolicy_clipped_ratio": logged_mean(history, "completions/clipped_ratio"),
            "kl_estimator": trainer.args.kl_estimator,  # what the trainer computed with
            "sampled_kl": sampled_kl,
            "max_completion_length": max_new_tokens,
        }
