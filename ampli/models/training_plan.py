"""One cycle's training plan, decided once and executed by whichever backend trains (local TRL or the Tinker service).

The plan owns every decision two backends could otherwise make differently: the model the cycle starts from, the
DPO reference or the distillation teacher, the loss and its estimator, the batch size, gradient accumulation,
epochs and hence the optimizer steps, the learning rate of every step (scheduler, warm-up, lr_min_ratio), the Adam
settings and the adapter. train.json records the plan under "plan" and what the backend did under "executed"; a
backend whose steps or learning rates differ from the plan stops the run (PlanNotFollowed) rather than record a
plan it did not follow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ampli.config.schema import AmpliConfig

BASE = -1  # "model -1" is the base model throughout
ADAM_BETA1 = 0.9  # transformers' default, the authors' and the Tinker service's


class PlanNotFollowed(RuntimeError):
    """A backend trained otherwise than the cycle's plan says: a bug, never a result to keep."""


def model_label(index: int | str | None) -> str | None:
    if index is None:
        return None
    return "seed" if index == "seed" else "base" if index == BASE else f"model_{index}"


def starts_from_base(cfg: AmpliConfig, cycle: int) -> bool:
    """Does model n start from the original weights? Always under reinit and at cycle 0; in a continual run only the
    cycles listed in regime.restart_from_base_cycles."""
    return cfg.reinit or cycle == 0 or cycle in cfg.regime.restart_from_base_cycles


def start_model(cfg: AmpliConfig, cycle: int) -> int:
    """The model cycle n starts from (BASE: the original weights), which is also a continual DPO cycle's reference and
    whose samples a distillation cycle's student draws first."""
    return BASE if starts_from_base(cfg, cycle) else cycle - 1


def scheduler_settings(cfg: AmpliConfig) -> tuple[str, dict]:
    """transformers' scheduler name and its extra arguments: regime.lr_scheduler, or a cosine that ends at
    lr_min_ratio x the learning rate (cosine_with_min_lr, the authors' DPO)."""
    regime = cfg.regime
    if regime.lr_min_ratio:
        return "cosine_with_min_lr", {"min_lr_rate": regime.lr_min_ratio}
    return regime.lr_scheduler, {}


def learning_rates(scheduler: str, kwargs: dict, lr: float, steps: int, warmup_steps: int) -> list[float]:
    """The learning rate of each optimizer step, from transformers' own scheduler (what a local trainer builds)."""
    import torch
    from transformers import get_scheduler

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = get_scheduler(scheduler, optimizer, num_warmup_steps=warmup_steps, num_training_steps=steps,
                             scheduler_specific_kwargs=kwargs or None)
    rates = []
    for _ in range(steps):
        rates.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    return rates


def optimizer_steps(loss: str, examples: int, batch_size: int, grad_accum: int, epochs: float) -> int:
    """Optimizer steps of a cycle as TRL counts them: every batch, the last one incomplete, is trained on, and an
    incomplete accumulation window at the end of an epoch still makes a step; on-policy distillation draws whole
    windows of batch_size x grad_accum prompts only (TRL's RepeatSampler drops the rest)."""
    if loss == "distill":
        per_epoch = max(examples // (batch_size * grad_accum), 1)
    else:
        batches = math.ceil(examples / batch_size)
        per_epoch = max(batches // grad_accum + int(batches % grad_accum > 0), 1)
    return math.ceil(epochs * per_epoch)


@dataclass(frozen=True)
class TrainingPlan:
    cycle: int
    start: int  # BASE: the original weights (a fresh adapter); else the model whose weights the cycle continues
    loss: str  # completion (SFT: the answer's tokens), document (SDF: every token), dpo, distill
    examples: int  # records (dpo: pairs; distill: on-policy samples)
    batch_size: int
    grad_accum: int
    epochs: float
    steps: int
    learning_rate: float  # the peak
    scheduler: str
    scheduler_kwargs: dict
    warmup_steps: int
    learning_rates: list[float]  # of every optimizer step
    adam: dict  # beta1, beta2, eps, weight_decay, max_grad_norm (0: no clipping) of the per-token mean loss
    max_length: int | None  # regime.max_length; None: the cycle's longest example (ampli.inputs.seq_length)
    allow_truncation: bool
    reference: int | None = None  # dpo: the model whose log-probs the policy is compared with
    teacher: int | None = None  # distill: the model the student is pushed toward
    kl_estimator: str | None = None
    lora: dict | None = field(default=None)  # rank, cover, unembed; None: full weights

    @property
    def fresh(self) -> bool:
        return self.start == BASE

    def record(self) -> dict:
        """The plan as train.json keeps it, models by name."""
        out = asdict(self)
        for key in ("start", "reference", "teacher"):
            out[key] = model_label(out[key])
        return out


def plan_cycle(cfg: AmpliConfig, cycle: int, examples: int) -> TrainingPlan:
    """The plan of cycle `cycle` over `examples` training records."""
    regime = cfg.regime
    start = start_model(cfg, cycle)
    from_base = start == BASE
    loss = {"sft": "completion", "sdf": "document", "dpo": "dpo", "distill": "distill"}[regime.name]
    if loss == "distill" and cycle == 0:
        loss = "completion"  # distill's cycle 0 is SFT on the seed set
    batch = regime.cycle0_batch_size if cycle == 0 and regime.cycle0_batch_size else regime.batch_size
    steps = optimizer_steps(loss, examples, batch, regime.grad_accum, regime.epochs)
    lr = regime.continual_learning_rate if not from_base and regime.continual_learning_rate else regime.learning_rate
    scheduler, kwargs = scheduler_settings(cfg)
    warmup = math.ceil(steps * regime.warmup) if regime.warmup < 1 else int(regime.warmup)
    lora = cfg.model.lora
    adapter = ({"r": lora.r, "cover": list(lora.cover), "unembed": lora.unembed}
               if lora.enabled or cfg.backend.name != "local" else None)
    return TrainingPlan(
        cycle=cycle, start=start, loss=loss, examples=examples, batch_size=batch, grad_accum=regime.grad_accum,
        epochs=regime.epochs, steps=steps, learning_rate=lr, scheduler=scheduler, scheduler_kwargs=kwargs,
        warmup_steps=warmup, learning_rates=learning_rates(scheduler, kwargs, lr, steps, warmup),
        adam={"beta1": ADAM_BETA1, "beta2": regime.adam_beta2, "eps": regime.adam_eps,
              "weight_decay": regime.weight_decay, "max_grad_norm": regime.max_grad_norm},
        max_length=regime.max_length, allow_truncation=regime.allow_truncation,
        reference=start if loss == "dpo" else None,
        teacher=cycle - 1 if loss == "distill" else None,
        kl_estimator=regime.kl_estimator if loss == "distill" else None,
        lora=adapter,
    )


def check_followed(plan: TrainingPlan, steps: int, rates: list[float]) -> dict:
    """What a backend did, checked against the plan: the same number of optimizer steps at the same learning rates."""
    same_rates = len(rates) == len(plan.learning_rates) and all(
        math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12) for a, b in zip(rates, plan.learning_rates))
    if steps != plan.steps or not same_rates:
        raise PlanNotFollowed(
            f"cycle {plan.cycle} trained {steps} steps at learning rates {rates[:3]}...{rates[-1:]} where its plan "
            f"says {plan.steps} steps at {plan.learning_rates[:3]}...{plan.learning_rates[-1:]}")
    return {"steps": steps, "final_learning_rate": rates[-1] if rates else None}
