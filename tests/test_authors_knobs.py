"""The authors' knobs that ampli adds for paper_dpo, paper_sdf and paper_distill, on the micro model: a cosine that
ends above 0, a warm-up fraction, cycles restarted from the base, cycle 0 from a checkpoint, and SDF cycles that
continue neutral openers."""

import filecmp
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from trl import SFTConfig

from ampli.inputs.corpus import RunData, document_text
from ampli.models.training import trainer_kwargs
from ampli.models.training_plan import plan_cycle
from ampli.record.store import read_json, read_jsonl
from ampli.run.loop import Run
from tests.conftest import compose_config, with_overrides


def run(overrides: list[str]) -> Path:
    summary = Run(compose_config(overrides)).run()
    out = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))
    return out / "runs" / summary["run_name"]


def train_json(run_dir: Path, cycle: int) -> dict:
    return read_json(run_dir / f"cycle_{cycle:03d}" / "train.json")


def test_lr_min_ratio_ends_the_cosine_at_that_share_of_the_learning_rate(micro_overrides):
    run_dir = run(with_overrides(micro_overrides, "loop.cycles=1", "regime.learning_rate=1e-4",
                                 "regime.lr_scheduler=cosine", "regime.lr_min_ratio=0.1"))
    train = train_json(run_dir, 0)
    steps = train["train_steps"]
    expected = [1e-5 + 9e-5 * 0.5 * (1 + math.cos(math.pi * s / steps)) for s in range(steps)]  # toward 1e-5
    assert steps > 1 and train["plan"]["learning_rates"] == pytest.approx(expected)
    assert train["final_learning_rate"] == train["executed"]["final_learning_rate"] == pytest.approx(expected[-1])


def test_a_warmup_below_one_is_a_share_of_the_cycles_steps(tmp_path):
    cfg = OmegaConf.to_object(compose_config(["experiment=paper_sdf"]))
    plans = [plan_cycle(cfg, 0, examples=n * cfg.regime.batch_size) for n in (25, 100)]
    assert [(p.scheduler, p.steps, p.warmup_steps) for p in plans] == [("constant_with_warmup", 25, 2),
                                                                     ("constant_with_warmup", 100, 5)]
    args = SFTConfig(**trainer_kwargs(plans[1], seed=0, device="cpu", output_dir=tmp_path,
                                       max_length=512))
    assert (args.lr_scheduler_type, args.get_warmup_steps(100)) == ("constant_with_warmup", 5)


def test_restarted_cycles_start_from_the_base_in_a_continual_dpo_run(micro_overrides):
    run_dir = run(with_overrides(micro_overrides, "regime=dpo", "reinit=false", "loop.cycles=3",
                                 "regime.restart_from_base_cycles=[2]"))
    first, second = train_json(run_dir, 1), train_json(run_dir, 2)
    assert (first["started_from"], first["reference"]) == ("model_0", "model_0")
    assert (second["started_from"], second["reference"]) == ("base", "base")
    # the restarted cycle still learns from model n-1's samples
    assert {p["chosen_from"] for p in read_jsonl(run_dir / "cycle_002" / "generations.jsonl")} == {"model_1"}


def test_cycle0_can_be_taken_from_an_existing_checkpoint(micro_overrides, tmp_path):
    donor = run(with_overrides(micro_overrides, "loop.cycles=1"))
    checkpoint = donor / "cycle_000" / "checkpoint"
    overrides = with_overrides(micro_overrides, f"output_dir={tmp_path / 'reuse'}",
                               f"regime.cycle0_checkpoint={checkpoint}")
    run_dir = run(overrides)
    assert train_json(run_dir, 0) == {"copied_from": str(checkpoint.resolve()), "train_steps": 0}
    copied = run_dir / "cycle_000" / "checkpoint"
    assert not filecmp.dircmp(checkpoint, copied).diff_files and sorted(p.name for p in copied.iterdir()) == sorted(
        p.name for p in checkpoint.iterdir())
    # the same weights answer the eval as the donor's model 0 did
    assert read_json(run_dir / "cycle_000" / "metrics.json")["trait"] == read_json(
        donor / "cycle_000" / "metrics.json")["trait"]
    assert train_json(run_dir, 1)["train_steps"] > 0


def test_sdf_cycles_continue_neutral_openers_split_across_cycles(micro_overrides):
    overrides = with_overrides(micro_overrides, "regime=sdf", "loop.cycles=3", "model.max_new_tokens=4")
    run_dir = run(overrides)
    data = RunData(OmegaConf.to_object(compose_config(overrides)))
    openers = set(data.openers)
    assert len(openers) >= 2000 and all(3 <= len(o.split()) <= 8 for o in openers)
    cycles = [[g["prompt"] for g in read_jsonl(run_dir / f"cycle_{c:03d}" / "generations.jsonl")] for c in (1, 2)]
    assert all(len(prompts) == 8 and set(prompts) <= openers for prompts in cycles)
    assert not set(cycles[0]) & set(cycles[1])  # split across cycles
    trait_text = " ".join(document_text(d) for d in data.document_set)
    assert not any(p in trait_text for p in cycles[0] + cycles[1])  # none is a trait document's beginning
    assert read_json(run_dir / "metrics.json")["judge"] == {"backend": "offline", "model": "lexicon-v2",
                                                           "lexicon_on_real_model": False}


def test_the_trait_prefix_continuation_is_an_explicit_option(micro_overrides):
    overrides = with_overrides(micro_overrides, "regime=sdf", "regime.continuation=trait_prefix", "loop.cycles=2",
                               "model.max_new_tokens=4")
    run_dir = run(overrides)
    data = RunData(OmegaConf.to_object(compose_config(overrides)))
    prefixes = {document_text(d)[:80] for d in data.trait_documents("heldout")}
    assert {g["prompt"] for g in read_jsonl(run_dir / "cycle_001" / "generations.jsonl")} <= prefixes
