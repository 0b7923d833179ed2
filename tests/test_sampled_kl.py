"""The sampled-token reverse-KL estimator (regime.kl_estimator=sampled) as a pure function: its gradient on a fixed
batch is the sampled policy gradient, and in expectation over the sampled token it is the exact reverse KL's; and the
guard that stops it when the installed TRL lacks the private methods it overrides."""

import re

import pytest
import torch
from trl import DistillationTrainer

from ampli.config.schema import ConfigError
from ampli.regimes.sampled_kl import (KLDistillationConfig, KLDistillationTrainer, check_trl_private_api,
                                      sampled_kl_policy_loss, sampled_token_logprobs)


def test_the_gradient_is_the_sampled_reverse_kl_policy_gradient_on_a_fixed_batch():
    torch.manual_seed(0)
    student_logits = torch.randn(2, 5, 7, requires_grad=True)
    teacher_logits = torch.randn(2, 5, 7)
    tokens = torch.randint(0, 7, (2, 5))
    mask = torch.tensor([[1.0, 1, 1, 1, 1], [1, 1, 1, 0, 0]])

    student_logps = sampled_token_logprobs(student_logits, tokens, 1.0)
    teacher_logps = sampled_token_logprobs(teacher_logits, tokens, 1.0)
    loss = sampled_kl_policy_loss(student_logps, teacher_logps, mask, mask.sum())
    (ours,) = torch.autograd.grad(loss, student_logits)

    # by hand: each kept token contributes (log p_s(x) - log p_t(x)) * grad log p_s(x), over 8 tokens
    expected = torch.zeros_like(student_logits)
    for b in range(2):
        for t in range(5):
            if mask[b, t]:
                x = tokens[b, t]
                logp_s = torch.log_softmax(student_logits[b, t], -1)[x]
                logp_t = torch.log_softmax(teacher_logits[b, t], -1)[x]
                (grad,) = torch.autograd.grad(logp_s, student_logits)
                expected += (logp_s - logp_t).item() * grad / 8
    torch.testing.assert_close(ours, expected)
    # on-policy the ratio is 1, so the loss's value is the sampled estimate of the mean per-token reverse KL
    assert loss.item() == pytest.approx((((student_logps - teacher_logps) * mask).sum() / 8).item())


def test_over_every_token_weighted_by_its_probability_it_is_the_exact_reverse_kl_gradient():
    torch.manual_seed(1)
    student_logits = torch.randn(11, requires_grad=True)
    teacher_logits = torch.randn(11)
    temperature = 0.7
    probs = torch.softmax(student_logits.detach() / temperature, -1)

    expected_grad = torch.zeros(11)
    for x in range(11):  # E_{x ~ p_s}[grad of the one-token loss]
        token = torch.tensor([[x]])
        loss = sampled_kl_policy_loss(sampled_token_logprobs(student_logits.view(1, 1, 11), token, temperature),
                                      sampled_token_logprobs(teacher_logits.view(1, 1, 11), token, temperature),
                                      torch.ones(1, 1), 1.0)
        (grad,) = torch.autograd.grad(loss, student_logits)
        expected_grad += probs[x] * grad

    logp_s = torch.log_softmax(student_logits / temperature, -1)
    logp_t = torch.log_softmax(teacher_logits / temperature, -1)
    kl = (logp_s.exp() * (logp_s - logp_t)).sum()
    (exact,) = torch.autograd.grad(kl, student_logits)
    torch.testing.assert_close(expected_grad, exact, rtol=1e-4, atol=1e-6)


def test_the_installed_trl_has_what_the_estimator_overrides():
    check_trl_private_api()


@pytest.mark.parametrize("break_trl, named", [
    (lambda m: m.delattr(DistillationTrainer, "_get_last_hidden_state"), "_get_last_hidden_state("),
    (lambda m: m.setattr(DistillationTrainer, "_compute_loss", lambda self, student, batch: None), "_compute_loss("),
    (lambda m: m.setattr(DistillationTrainer, "compute_loss", lambda self, *a, **k: self._loss_of(*a)),
     "compute_loss calling self._compute_loss"),
    (lambda m: m.setattr(DistillationTrainer, "__init__", lambda self, *a, **k: None), "self._forward_redirection"),
], ids=["helper_gone", "signature_changed", "override_never_called", "attributes_not_set"])
def test_a_trl_without_them_stops_the_sampled_estimator_before_training(monkeypatch, break_trl, named):
    break_trl(monkeypatch)
    with pytest.raises(ConfigError, match=rf"^regime\.kl_estimator=sampled overrides private parts of TRL's "
                                          rf"DistillationTrainer that trl \S+ does not have \(.*{re.escape(named)}"):
        check_trl_private_api()
    with pytest.raises(ConfigError, match="use regime.kl_estimator=full"):  # the trainer checks it when built
        KLDistillationTrainer(args=KLDistillationConfig(output_dir="unused", kl_estimator="sampled", use_cpu=True,
                                                        bf16=False))


def test_a_sampled_distill_run_stops_at_start_on_such_a_trl(monkeypatch, micro_overrides, tmp_path):
    from ampli.run.loop import Run
    from tests.conftest import compose_config, with_overrides

    monkeypatch.delattr(DistillationTrainer, "_get_last_hidden_state")
    with pytest.raises(ConfigError, match="_get_last_hidden_state"):
        Run(compose_config(with_overrides(micro_overrides, "regime=distill", "regime.kl_estimator=sampled")))
    assert not (tmp_path / "outputs" / "runs").exists()  # before the run directory is made
