"""What every regime's TRL trainer shares: the arguments built from the cycle's plan, and saving the result."""

import logging
import math
import shutil
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import PrinterCallback, ProgressCallback, TrainerCallback

from ampli.models.training_plan import TrainingPlan, check_followed
from ampli.record import console
from ampli.record.store import PARTIAL_CHECKPOINT_PREFIX, atomic_directory, disk_full_names


class NonFiniteLossError(RuntimeError):
    """Training diverged; the run stops cleanly and everything produced so far stays on disk."""


def trainer_kwargs(plan: TrainingPlan, *, seed: int, device: str, output_dir: Path, max_length: int) -> dict:
    """Keyword arguments common to SFTConfig, DPOConfig and DistillationConfig (all extend transformers'
    TrainingArguments), from the cycle's plan (ampli.models.training_plan); max_length comes from the cycle's data
    (ampli.inputs.seq_length). Every cycle is a new trainer, so a decaying schedule runs its whole course within a
    cycle."""
    return dict(
        output_dir=str(output_dir),
        learning_rate=plan.learning_rate,
        lr_scheduler_type=plan.scheduler,
        **({"lr_scheduler_kwargs": plan.scheduler_kwargs} if plan.scheduler_kwargs else {}),
        warmup_steps=plan.warmup_steps,
        adam_beta1=plan.adam["beta1"],
        adam_beta2=plan.adam["beta2"],
        adam_epsilon=plan.adam["eps"],
        weight_decay=plan.adam["weight_decay"],
        max_grad_norm=plan.adam["max_grad_norm"],
        num_train_epochs=plan.epochs,
        per_device_train_batch_size=plan.batch_size,
        gradient_accumulation_steps=plan.grad_accum,
        max_length=max_length,
        seed=seed,
        use_cpu=device == "cpu",
        bf16=False if device == "cpu" else None,
        activation_checkpointing=device != "cpu",
        save_strategy="no",
        report_to="none",
        logging_steps=10,
    )


class StepRates(TrainerCallback):
    """The learning rate each optimizer step was taken at (read before the scheduler moves on): what the trainer
    executed, to check against the plan."""

    def __init__(self):
        self.rates: list[float] = []

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.rates.append(optimizer.param_groups[0]["lr"])


class TrainerProgress(ProgressCallback):
    """HF Trainer's progress bar without its printed metric dicts: the bar is named and cleared when training ends,
    and each logged dict ({'loss': ..., 'grad_norm': ...}) becomes a DEBUG record of the `ampli.train` logger,
    which goes to the job's log file (and to the console with logger.verbose=true)."""

    def __init__(self, desc: str):
        super().__init__()
        self.desc = desc

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.training_bar = tqdm(total=state.max_steps, desc=self.desc, unit="step", leave=False,
                                     dynamic_ncols=True, disable=not console.SHOW_BARS)
        self.current_step = 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            metrics = {k: v for k, v in logs.items() if k != "total_flos"}
            logging.getLogger("ampli.train").debug("%s step %d: %s", self.desc, state.global_step, metrics)


def show_progress(trainer, desc: str) -> None:
    """Replace the trainer's default progress callback with TrainerProgress. Both defaults print every logged metric
    dict: ProgressCallback, or PrinterCallback when transformers' verbosity is above WARNING (disable_tqdm)."""
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(TrainerProgress(desc))


def refuse_data_parallel(trainer) -> None:
    """HF Trainer wraps a model that is not sharded in DataParallel when it sees several GPUs: a full copy per GPU
    and a batch silently multiplied by their number. ampli shards instead (ampli.models.sources.placement)."""
    if trainer.args.n_gpu > 1:
        raise RuntimeError(
            f"the trainer would replicate the model on {trainer.args.n_gpu} GPUs (DataParallel); ampli shards models "
            f"across GPUs instead, so this model should have been loaded with device_map=auto"
        )


def run_trainer(trainer, checkpoint_dir: Path, plan: TrainingPlan) -> dict:
    """Train, check that the plan was followed, refuse a non-finite loss or weights, and save the model (adapter or
    full weights) atomically."""
    rates = StepRates()
    trainer.add_callback(rates)
    result = trainer.train()
    executed = check_followed(plan, int(result.global_step), rates.rates)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    if not all(math.isfinite(x) for x in losses) or not math.isfinite(result.training_loss):
        raise NonFiniteLossError(
            f"training loss became non-finite ({losses[-5:]}); lower regime.learning_rate or check the data"
        )
    # The last update can overflow the weights after the last loss was measured: never save such a model.
    if not all(torch.isfinite(p).all() for p in trainer.model.parameters()):
        raise NonFiniteLossError(
            f"training left non-finite weights (learning_rate={trainer.args.learning_rate:g}); "
            f"lower regime.learning_rate (regime.continual_learning_rate for continual cycles)"
        )
    with disk_full_names(checkpoint_dir, "checkpoint"), atomic_directory(checkpoint_dir, PARTIAL_CHECKPOINT_PREFIX) as tmp:
        trainer.model.save_pretrained(tmp)
        trainer.processing_class.save_pretrained(tmp)
    return {"train_loss": float(result.training_loss), "train_steps": int(result.global_step),
            "batch_size": trainer.args.per_device_train_batch_size,
            "final_learning_rate": executed["final_learning_rate"], "plan": plan.record(), "executed": executed}


def copy_checkpoint(source: Path, checkpoint_dir: Path) -> dict:
    """Model n taken from an existing checkpoint instead of trained (regime.cycle0_checkpoint: the authors reuse a
    calibrated cycle 0 across runs); copied whole, so the run directory stays self-contained."""
    with disk_full_names(checkpoint_dir, "checkpoint"), atomic_directory(checkpoint_dir, PARTIAL_CHECKPOINT_PREFIX) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
    return {"copied_from": str(source.resolve()), "train_steps": 0}
