"""What a LoRA run must show, whatever the model: one adapter per cycle, continual cycles starting from model
n-1's adapter, DPO references as the protocol names them, nothing cut, answers and scores that are real."""

import math
from pathlib import Path

import torch

from ampli.record.store import read_json, read_jsonl
from tests.contexts import saved_adapter


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].float(), b[k].float()) for k in a)


def check_lora_run(run_dir: Path, summary: dict, trainers: list, regime: str, reinit: bool, cycles: int) -> None:
    assert summary["status"] == "completed" and len(trainers) == cycles
    for cycle, trainer in enumerate(trainers):
        d = run_dir / f"cycle_{cycle:03d}"
        checkpoint = d / "checkpoint"
        assert (checkpoint / "adapter_config.json").exists() and (checkpoint / "adapter_model.safetensors").exists()
        assert not (checkpoint / "model.safetensors").exists()  # an adapter, not a copy of the model
        train = read_json(d / "train.json")
        assert train["n_truncated"] == 0 and train["n_examples"] > 0
        assert math.isfinite(train["train_loss"]) and train["train_steps"] > 0
        responses = [r["response"] for r in read_jsonl(d / "eval.jsonl")]
        assert responses and all(r.strip() for r in responses)
        if cycle > 0:
            samples = read_jsonl(d / "generations.jsonl")
            assert all((s.get("chosen") or s.get("response", "")).strip() for s in samples)
        metrics = read_json(d / "metrics.json")
        assert 0 <= metrics["trait"] <= 100 and 0 <= metrics["coherence"] <= 100

        start = trainer.start_adapters["default"]
        if cycle == 0 or reinit:  # a fresh adapter: LoRA's B matrices start at zero, so it leaves the base intact
            assert all(not v.any() for k, v in start.items() if "lora_B" in k)
        else:  # continual: training resumes model n-1's adapter, exactly as it was saved
            assert same_weights(start, saved_adapter(run_dir / f"cycle_{cycle - 1:03d}" / "checkpoint"))
        if regime == "dpo":
            check_dpo_reference(run_dir, trainer, train, cycle, reinit)


def check_dpo_reference(run_dir: Path, trainer, train: dict, cycle: int, reinit: bool) -> None:
    if reinit or cycle == 0:  # the base model: the adapter switched off, no reference adapter
        assert "ref" not in trainer.start_adapters
        assert train["reference"] == "base" and train["reference_weights"] == "base model (adapter disabled)"
    else:  # model n-1: a frozen copy of its adapter
        assert same_weights(trainer.start_adapters["ref"], saved_adapter(run_dir / f"cycle_{cycle - 1:03d}" / "checkpoint"))
        assert train["reference"] == f"model_{cycle - 1}"
        assert train["reference_weights"] == "frozen copy of the previous adapter"
