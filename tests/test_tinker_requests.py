"""The requests backend=tinker builds, checked piece by piece against the authors' protocol: which tokens carry
weight, the optimizer's settings, the learning-rate schedule and the DPO loss; with the SDK installed, against its
own types and exception classes.

`make tinker` installs the SDK (CI runs it before the tests); once it has, a missing SDK fails these tests instead
of skipping them."""

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from ampli.backends.tinker.config import BackendConfig
from ampli.backends.tinker.datums import answer_sequences, batches, document_sequences, to_datum
from ampli.backends.tinker.sampling import check_logprobs
from ampli.backends.tinker.service import Service, check, transient
from ampli.backends.tinker.training import TinkerTrainer, dpo_loss
from ampli.config.schema import ConfigError
from ampli.models.training_plan import learning_rates, plan_cycle
from tests.conftest import compose_config
from tests.fakes import tinker_service as fake_sdk
from tests.fakes.tiny_lm import tiny_tokenizer


INSTALLED_BY_MAKE = Path(__file__).resolve().parents[1] / ".venv" / ".tinker"


def the_sdk():
    """The installed tinker SDK; skipped without it unless `make tinker` installed it here."""
    if INSTALLED_BY_MAKE.exists():
        import tinker

        return tinker
    return pytest.importorskip("tinker", reason="the Tinker SDK is not installed (`make tinker`)")


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


def test_batches_keep_every_item_in_order_with_a_shorter_last_batch():
    assert batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert batches([0], 2) == [[0]]


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
    tinker = the_sdk()
    from ampli.backends.tinker.distill import onpolicy_datum
    from ampli.backends.tinker.training import weighted_logprob

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

    tinker.SamplingParams(max_tokens=16, temperature=0.8, seed=3, stop=[tokenizer.eos_token_id])


def test_the_fake_service_fails_with_the_sdks_own_classes():
    tinker = the_sdk()
    from tinker.lib.retryable_exception import RetryableException

    assert fake_sdk.RetryableException is RetryableException
    assert isinstance(fake_sdk.request_failed("user"), tinker.RequestFailedError)
    assert isinstance(fake_sdk.status_error(429), tinker.RateLimitError)
    assert isinstance(fake_sdk.status_error(404), tinker.NotFoundError)
    assert isinstance(fake_sdk.connection_error(), tinker.APIConnectionError)


def test_retry_follows_the_sdks_semantics():
    """Retried: what the SDK marks retryable, a failure on the service's side, a retryable status. Not: a user
    error, the SDK's ValueError verdicts, a connection the SDK already gave up on, other statuses."""
    tinker = the_sdk()
    from tinker.lib.retryable_exception import RetryableException
    from tinker.types import RequestErrorCategory

    retried = [RetryableException("Promise expired"),
               tinker.RequestFailedError("failed", "r1", RequestErrorCategory.Server),
               tinker.RequestFailedError("failed", "r2", RequestErrorCategory.Unknown),
               *(fake_sdk.status_error(status) for status in (408, 409, 429, 500, 503))]
    final = [tinker.RequestFailedError("failed", "r3", RequestErrorCategory.User), ValueError("status 401"),
             fake_sdk.connection_error(), tinker.APITimeoutError(fake_sdk.connection_error().request),
             *(fake_sdk.status_error(status) for status in (400, 401, 402, 404, 422)), TimeoutError("no result")]
    assert [transient(e) for e in retried] == [True] * len(retried)
    assert [transient(e) for e in final] == [False] * len(final)


def test_sampled_tokens_without_their_logprobs_stop_the_cycle():
    """The SDK's SampledSequence.logprobs is None when the service sends none; the distill loss would read them."""
    tinker = the_sdk()
    import numpy as np

    def sequence(logprobs):
        return tinker.SampledSequence(stop_reason="stop", sequence_id="s", tokens_np=np.array([5, 6], np.int32),
                                      logprobs_np=None if logprobs is None else np.array(logprobs, np.float32))

    check_logprobs([[sequence([-1.0, -0.5])]])
    with pytest.raises(RuntimeError, match=r"sample 1 of prompt 0: none\)"):
        check_logprobs([[sequence([-1.0, -0.5]), sequence(None)]])
    with pytest.raises(RuntimeError, match=r"sample 0 of prompt 1: 1 of 2\)"):
        check_logprobs([[sequence([-1.0, -0.5])], [sequence([-1.0])]])


def test_a_weights_lifetime_under_an_hour_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("TINKER_API_KEY", "test-key-not-a-secret")
    cfg = BackendConfig(name="tinker", sdk="tests.fakes.tinker_service", ttl_seconds=600)
    with pytest.raises(ConfigError, match=r"backend.ttl_seconds=600 is not valid; .* 3600 s"):
        check(cfg)
    check(BackendConfig(name="tinker", sdk="tests.fakes.tinker_service", ttl_seconds=3600))
    check(BackendConfig(name="tinker", sdk="tests.fakes.tinker_service", ttl_seconds=None))


def test_every_call_the_fake_serves_is_the_sdks_with_its_parameter_names():
    """The fake implements what ampli calls; each of those methods exists on the SDK's client classes and takes
    the keywords the fake (and so ampli) uses, so a renamed method or argument fails here, not on the service."""
    tinker = the_sdk()
    import inspect

    for client in ("ServiceClient", "TrainingClient", "SamplingClient", "RestClient"):
        for name, method in vars(getattr(fake_sdk, client)).items():
            if name.startswith("_") or not callable(method):
                continue
            real = getattr(getattr(tinker, client), name, None)
            assert real is not None, f"{client}.{name}"
            used = [p.name for p in inspect.signature(inspect.unwrap(method)).parameters.values()
                    if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"]
            assert set(used) <= set(inspect.signature(real).parameters), f"{client}.{name}({', '.join(used)})"


def test_the_perplexity_of_an_answer_reads_its_tokens_and_refuses_a_missing_logprob():
    from ampli.backends.tinker.sampling import answer_perplexity

    assert answer_perplexity([None, -9.0, -1.0, -3.0], prompt_tokens=2) == pytest.approx(math.exp(2.0))
    assert answer_perplexity([None, -2.0], prompt_tokens=0) == pytest.approx(math.exp(2.0))  # the first has none
    with pytest.raises(RuntimeError, match="no log-prob for 1 of the 2 answer tokens"):
        answer_perplexity([None, -9.0, None, -3.0], prompt_tokens=2)
