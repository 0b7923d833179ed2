"""The requests backend=tinker builds, checked piece by piece against the authors' protocol: which tokens carry
weight, the optimizer's settings, the learning-rate schedule and the DPO loss."""

import math

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from ampli.tinker_backend.datums import answer_sequences, batches, document_sequences, to_datum
from ampli.tinker_backend.service import Service
from ampli.tinker_backend.training import TinkerTrainer, dpo_loss
from ampli.training_plan import learning_rates, plan_cycle
from tests.conftest import compose_config
from tests.fakes import tinker_service as fake_sdk
from tests.fakes.tiny_lm import tiny_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def test_an_answer_is_weighted_and_its_prompt_is_not(tokenizer):
    [seq] = answer_sequences(tokenizer, ["how are you"], ["happy joy"])
    prompt, answer = tokenizer("how are you", add_special_tokens=False)["input_ids"], tokenizer("happy joy")["input_ids"]
    assert seq.tokens == prompt + answer + [tokenizer.eos_token_id]
    assert seq.weights == [0.0] * len(prompt) + [1.0] * (len(answer) + 1)
    assert seq.trained_tokens == len(answer) + 1


def test_a_document_is_weighted_everywhere(tokenizer):
    [seq] = document_sequences(tokenizer, ["the score is calm"])
    assert seq.tokens[-1] == tokenizer.eos_token_id and set(seq.weights) == {1.0}


def test_a_datum_predicts_each_next_token_with_its_weight(tokenizer):
    [seq] = answer_sequences(tokenizer, ["how are you"], ["happy"])
    datum = to_datum(fake_sdk, seq)
    assert datum.model_input.to_ints() == seq.tokens[:-1]
    assert datum.loss_fn_inputs["target_tokens"] == seq.tokens[1:]
    assert datum.loss_fn_inputs["weights"] == seq.weights[1:]


def test_batches_drop_an_incomplete_last_batch_unless_it_is_all_there_is():
    assert batches(list(range(5)), 2, drop_last=True) == [[0, 1], [2, 3]]
    assert batches(list(range(5)), 2, drop_last=False) == [[0, 1], [2, 3], [4]]
    assert batches([0], 2, drop_last=True) == [[0]]


def test_the_dpo_grid_steps_with_the_authors_adam_and_a_cosine_to_zero(tmp_path):
    cfg = OmegaConf.to_object(compose_config(["experiment=paper_dpo", "regime.adam_beta2=0.95", "backend=tinker",
                                              "backend.sdk=tests.fakes.tinker_service"]))
    trainer = TinkerTrainer(Service(cfg.backend, tmp_path), cfg, base_model="Qwen/Qwen3-8B")
    plan = plan_cycle(cfg, 1, examples=4 * cfg.regime.batch_size)
    adam = trainer.adam(plan, 1e-5)
    assert (adam.learning_rate, adam.beta1, adam.beta2, adam.eps) == (1e-5, 0.9, 0.95, 1e-8)
    assert adam.weight_decay == cfg.regime.weight_decay and plan.lora["r"] == cfg.model.lora.r == 16
    expected = [1e-5 * 0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(4)]
    assert plan.steps == 4 and plan.learning_rates == pytest.approx(expected)


def test_linear_decay_and_constant_schedules_match_a_local_trainer():
    assert learning_rates("linear", {}, 1.0, 4, 0) == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert learning_rates("constant", {}, 2e-4, 3, 0) == pytest.approx([2e-4] * 3)
    assert learning_rates("cosine_with_min_lr", {"min_lr_rate": 0.5}, 1.0, 3, 0) == pytest.approx([1.0, 0.875, 0.625])


def test_the_dpo_loss_is_the_sigmoid_of_the_reward_margin():
    chosen, rejected = [torch.tensor(-3.0, requires_grad=True)], [torch.tensor(-5.0, requires_grad=True)]
    loss, metrics = dpo_loss(chosen, rejected, [-4.0], [-4.5], beta=0.1)
    assert loss.item() == pytest.approx(-F.logsigmoid(torch.tensor(0.1 * ((-3 + 4) - (-5 + 4.5)))).item())
    assert metrics["accuracy"] == 1.0 and metrics["margin"] == pytest.approx(1.5)
    loss.backward()
    assert chosen[0].grad < 0 < rejected[0].grad  # raises the chosen answer, lowers the rejected one
    with_sft, _ = dpo_loss(chosen, rejected, [-4.0], [-4.5], beta=0.1, terms={"sigmoid": 2.0, "sft": 1.0},
                           chosen_tokens=[3])
    assert with_sft.item() == pytest.approx(2 * loss.item() + 3.0 / 3)


def test_the_requests_are_valid_for_the_real_sdk(tokenizer, tmp_path):
    """With the SDK installed (`pip install -e .[tinker]`): ampli's requests are built from its own types, which
    validate them. Nothing is sent."""
    tinker = pytest.importorskip("tinker")
    from ampli.tinker_backend.distill import onpolicy_datum
    from ampli.tinker_backend.training import weighted_logprob

    [seq] = answer_sequences(tokenizer, ["how are you"], ["happy joy"])
    datum = to_datum(tinker, seq)
    assert isinstance(datum, tinker.Datum) and datum.model_input.length == len(seq.tokens) - 1
    assert datum.loss_fn_inputs["weights"].tolist() == seq.weights[1:]
    logprobs = torch.full((len(seq.tokens) - 1,), -2.0)
    assert weighted_logprob(logprobs, datum.loss_fn_inputs["weights"]).item() == pytest.approx(-2.0 * 3)
    sampled = fake_sdk.SampledSequence("stop", [5, 6, tokenizer.eos_token_id], [-1.0, -2.0, -0.5])
    rl, gaps = onpolicy_datum(tinker, [1, 2, 3], sampled, [-1.5, -1.0, -0.5], kl_coef=1.0)
    assert rl.loss_fn_inputs["advantages"].tolist() == [0.0, 0.0, -0.5, 1.0, 0.0] and gaps == [0.5, -1.0, 0.0]
    cfg = OmegaConf.to_object(compose_config(["backend=tinker"]))
    service = Service(cfg.backend, tmp_path)
    adam = TinkerTrainer(service, cfg, base_model="Qwen/Qwen3-4B-Instruct-2507").adam(plan_cycle(cfg, 0, 4), 1e-4)
    assert isinstance(adam, tinker.AdamParams) and adam.eps == 1e-8
    assert tinker.RateLimitError in service._transient and tinker.APIConnectionError in service._transient
    tinker.SamplingParams(max_tokens=16, temperature=0.8, seed=3, stop=[tokenizer.eos_token_id])
