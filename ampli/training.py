"""What every regime's TRL trainer shares: the arguments built from RegimeConfig, and saving the result."""

import logging
import math
import shutil
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import PrinterCallback, ProgressCallback

from ampli import console
from ampli.config import RegimeConfig
from ampli.store import PARTIAL_CHECKPOINT_PREFIX, atomic_directory, disk_full_names


class NonFiniteLossError(RuntimeError):
    """Training diverged; the run stops cleanly and everything produced so far stays on disk."""


def trainer_kwargs(regime: RegimeConfig, *, continual: bool, seed: int, device: str, output_dir: Path,
                   max_length: int, seed_cycle: bool = False) -> dict:
    """Keyword arguments common to SFTConfig and DPOConfig (both extend transformers' TrainingArguments);
    max_length comes from the cycle's data (ampli.seq_length).

    Every cycle is a new trainer, so a decaying lr_scheduler (linear, cosine) runs its whole course within a cycle.
    """
    lr = regime.continual_learning_rate if continual and regime.continual_learning_rate else regime.learning_rate
    batch_size = regime.cycle0_batch_size if seed_cycle and regime.cycle0_batch_size else regime.batch_size
    return dict(
        output_dir=str(output_dir),
        learning_rate=lr,
        **scheduler_kwargs(regime),
        adam_beta2=regime.adam_beta2,
        num_train_epochs=regime.epochs,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=regime.grad_accum,
        weight_decay=regime.weight_decay,
        max_grad_norm=regime.max_grad_norm,
        warmup_steps=regime.warmup,
        max_length=max_length,
        seed=seed,
        use_cpu=device == "cpu",
        bf16=False if device == "cpu" else None,
        activation_checkpointing=device != "cpu",
        save_strategy="no",
        report_to="none",
        logging_steps=10,
    )


def scheduler_kwargs(regime: RegimeConfig) -> dict:
    """The lr schedule: regime.lr_scheduler, or a cosine that ends at lr_min_ratio x the learning rate (the authors'
    DPO) through transformers' cosine_with_min_lr."""
    if regime.lr_min_ratio:
        return {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": regime.lr_min_ratio}}
    return {"lr_scheduler_type": regime.lr_scheduler}


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
    and a batch silently multiplied by their number. ampli shards instead (ampli.models.placement)."""
    if trainer.args.n_gpu > 1:
        raise RuntimeError(
            f"the trainer would replicate the model on {trainer.args.n_gpu} GPUs (DataParallel); ampli shards models "
            f"across GPUs instead, so this model should have been loaded with device_map=auto"
        )


def run_trainer(trainer, checkpoint_dir: Path) -> dict:
    """Train, refuse a non-finite loss or weights, and save the model (adapter or full weights) atomically."""
    result = trainer.train()
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
            "final_learning_rate": trainer.lr_scheduler.get_last_lr()[0]}


def copy_checkpoint(source: Path, checkpoint_dir: Path) -> dict:
    """Model n taken from an existing checkpoint instead of trained (regime.cycle0_checkpoint: the authors reuse a
    calibrated cycle 0 across runs); copied whole, so the run directory stays self-contained."""
    with disk_full_names(checkpoint_dir, "checkpoint"), atomic_directory(checkpoint_dir, PARTIAL_CHECKPOINT_PREFIX) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
    return {"copied_from": str(source.resolve()), "train_steps": 0}
