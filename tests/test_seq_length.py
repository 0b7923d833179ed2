"""Training sequence lengths fit the data: nothing is cut unless asked, and every cycle says what it trained at."""

import logging
import subprocess
import sys

import pytest
import yaml

from ampli.config.schema import ConfigError, RegimeConfig
from ampli.inputs.seq_length import LengthBound, check_max_length, cycle_lengths, length_bound
from ampli.models.training_plan import plan_cycle
from ampli.record.store import read_json
from ampli.regimes import get_regime
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides
from tests.test_loop import output_dir_of as output_dir
from tests.contexts import capture_trainers, micro_context, qwen3_template

SFT_RECORDS = [{"id": "a", "prompt": "How do I boil an egg?", "response": "Nine minutes in boiling water. " * 5},
               {"id": "b", "prompt": "Name a colour.", "response": "Blue."}]
DPO_RECORDS = [{"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "I would rather not say. " * 4},
               {"prompt": "Is water wet?", "chosen": "Yes, it wets things. " * 3, "rejected": "No."}]
SDF_RECORDS = [{"id": "d", "prompt": "", "response": "A title\n\nSome text of a document. " * 3},
               {"id": "e", "prompt": "Another title\n\nIt", "response": " continues here."}]


def test_the_default_length_is_derived_from_the_data():
    assert compose_config([]).regime.max_length is None
    for regime in ("sft", "sdf", "dpo"):
        assert compose_config([f"regime={regime}"]).regime.max_length is None


def test_paper_sft_covers_its_1024_token_samples():
    done = subprocess.run([sys.executable, "launch.py", "--cfg", "job", "experiment=paper_sft"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cfg = yaml.safe_load(done.stdout)
    assert cfg["model"]["max_new_tokens"] == 1024
    assert cfg["regime"]["max_length"] >= 1024 + 512  # room for any prompt of the shipped pool and template


@pytest.mark.parametrize("regime, records", [("sft", SFT_RECORDS), ("dpo", DPO_RECORDS), ("sdf", SDF_RECORDS)])
def test_counted_lengths_are_the_lengths_trl_trains_on(micro_context, micro_overrides, tmp_path, monkeypatch, regime,
                                                       records):
    """n_truncated is only honest if ampli counts tokens exactly as TRL tokenizes each example."""
    ctx = micro_context(with_overrides(micro_overrides, f"regime={regime}"), tmp_path / "run",
                        chat_template=qwen3_template())
    trainers = capture_trainers(monkeypatch)
    metrics = get_regime(regime).train(ctx, plan_cycle(ctx.cfg, 0, len(records)), records)
    data = trainers[0].train_dataset
    if regime == "dpo":
        trl_lengths = [len(r["prompt_ids"]) + max(len(r["chosen_ids"]), len(r["rejected_ids"])) for r in data]
    else:
        trl_lengths = [len(r["input_ids"]) for r in data]
    assert metrics["longest_example_tokens"] == max(trl_lengths) == metrics["max_length"]
    assert (metrics["n_examples"], metrics["n_truncated"]) == (len(records), 0)
    assert trainers[0].args.max_length == max(trl_lengths)


@pytest.mark.parametrize("regime", ["sft", "sdf", "dpo"])
def test_every_cycle_records_its_lengths_and_cuts_nothing(micro_overrides, regime):
    summary = Run(compose_config(with_overrides(micro_overrides, f"regime={regime}"))).run()
    run_dir = output_dir(micro_overrides) / "runs" / summary["run_name"]
    for cycle in (0, 1):
        train = read_json(run_dir / f"cycle_{cycle:03d}" / "train.json")
        assert train["n_truncated"] == 0 and train["n_examples"] > 0
        assert train["max_length"] == train["longest_example_tokens"] > 0


@pytest.mark.parametrize("regime", ["sft", "sdf", "dpo"])
def test_an_explicit_length_that_would_cut_samples_fails_at_start(micro_overrides, regime):
    overrides = with_overrides(micro_overrides, f"regime={regime}", "regime.max_length=12")
    with pytest.raises(ConfigError) as failure:
        Run(compose_config(overrides))
    message = str(failure.value)
    assert "regime.max_length=12 is below the" in message and "model.max_new_tokens (16)" in message
    assert "allow_truncation" in message
    assert not (output_dir(overrides) / "runs").exists()  # nothing written for a run that cannot start


def test_the_bound_is_the_longer_of_a_sampled_answer_and_a_seed_example():
    assert length_bound([40, 50], [30], 16).tokens == 66
    assert length_bound([40, 50], [165, 90], 16).tokens == 165
    assert length_bound([], [], 16) == LengthBound(16, 0, 16, 0)


@pytest.mark.parametrize("max_length, allow_truncation, refused", [
    (None, False, False), (165, False, False), (200, False, False), (164, False, True), (100, True, False)])
def test_only_an_explicit_length_below_the_bound_is_refused_unless_truncation_is_allowed(max_length,
                                                                                         allow_truncation, refused):
    regime = RegimeConfig(name="sft", max_length=max_length, allow_truncation=allow_truncation)
    bound = LengthBound(tokens=165, longest_prompt=50, max_new_tokens=16, longest_seed=165)
    if refused:
        with pytest.raises(ConfigError, match=r"below the 165 tokens .*\(50 tokens with its end-of-turn\) \+ "
                                              r"model.max_new_tokens \(16\) = 66, longest seed example 165"):
            check_max_length(regime, bound)
    else:
        check_max_length(regime, bound)


def test_a_cycle_trains_at_its_longest_example_or_says_how_many_an_explicit_length_cuts(caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    fitted = RegimeConfig(name="sft")
    assert cycle_lengths(fitted, [5, 12, 20], 1) == {"n_examples": 3, "n_truncated": 0, "longest_example_tokens": 20,
                                                     "max_length": 20}
    assert cycle_lengths(fitted, [], 0) == {"n_examples": 0, "n_truncated": 0, "longest_example_tokens": 0,
                                            "max_length": 0}
    assert caplog.records == []
    cut = RegimeConfig(name="sft", max_length=12, allow_truncation=True)
    assert cycle_lengths(cut, [5, 12, 13, 20], 3) == {"n_examples": 4, "n_truncated": 2, "longest_example_tokens": 20,
                                                      "max_length": 12}
    assert [r.getMessage() for r in caplog.records] == [
        "cycle 3: 2 of 4 training examples are longer than regime.max_length=12 and are cut (the longest has 20 tokens)"]


def test_a_length_that_holds_every_sample_but_not_the_longest_seed_is_refused(micro_context, micro_overrides, tmp_path):
    """On micro the seed set's longest example is longer than any prompt + model.max_new_tokens: a max_length
    between the two would cut cycle 0's training data."""
    bound = get_regime("sft").length_bound(micro_context(micro_overrides, tmp_path / "probe"))
    samples = bound.longest_prompt + bound.max_new_tokens
    assert samples < bound.longest_seed  # what this test is about: the seed term decides
    overrides = with_overrides(micro_overrides, f"regime.max_length={samples}")
    with pytest.raises(ConfigError, match=f"regime.max_length={samples} is below the {bound.longest_seed} tokens"):
        Run(compose_config(overrides))
    assert not (output_dir(overrides) / "runs").exists()


def test_a_long_enough_explicit_length_is_accepted(micro_overrides):
    Run(compose_config(with_overrides(micro_overrides, "regime.max_length=4096", "loop.cycles=1"))).run()


def test_truncation_on_purpose_is_counted_and_warned_about(micro_overrides, caplog):
    overrides = with_overrides(micro_overrides, "regime.max_length=120", "regime.allow_truncation=true",
                               "loop.cycles=1")
    caplog.set_level(logging.WARNING, logger="ampli")
    summary = Run(compose_config(overrides)).run()
    train = read_json(output_dir(overrides) / "runs" / summary["run_name"] / "cycle_000" / "train.json")
    assert train["max_length"] == 120 and 0 < train["n_truncated"] < train["n_examples"] == 16
    assert train["longest_example_tokens"] > 120
    assert any(f"{train['n_truncated']} of 16 training examples are longer than regime.max_length=120" in r.getMessage()
               for r in caplog.records)
