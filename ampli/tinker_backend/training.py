"""Training a cycle's model on the Tinker service: one LoRA training client per cycle, one optimizer step per batch.

Where a cycle starts follows the run's reinit policy, as for local training: reinit (and cycle 0) a fresh LoRA
adapter on the base model; continual the saved training state of model n-1. Each step is a forward_backward request
(a built-in loss, or ampli's own loss over the returned log-probs with forward_backward_custom) and an optim_step
with Adam at the step's learning rate. The schedule is the one a local cycle gets (regime.lr_scheduler, warmup),
computed here per step. When the cycle ends its training state (to continue from) and its sampler weights (to
sample from) are saved, and their paths go into the run's ledger (ampli.tinker_backend.service).
"""

import logging
import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ampli.config import AmpliConfig
from ampli.tinker_backend.datums import WeightedTokens, batches, to_datum
from ampli.tinker_backend.service import Service
from ampli.training import NonFiniteLossError

log = logging.getLogger("ampli")

ADAM_BETA1 = 0.9  # the authors' (and the service's default) first-moment decay


def learning_rates(cfg: AmpliConfig, steps: int, lr: float) -> list[float]:
    """The learning rate of each of a cycle's steps under regime.lr_scheduler and regime.warmup, as transformers
    schedules it for a local trainer (warmup < 1 is a share of the steps, otherwise a number of steps)."""
    from transformers import get_scheduler

    warmup = cfg.regime.warmup
    warmup_steps = math.ceil(warmup * steps) if warmup < 1 else int(warmup)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = get_scheduler(cfg.regime.lr_scheduler, optimizer, num_warmup_steps=warmup_steps,
                              num_training_steps=steps)
    rates = []
    for _ in range(steps):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


def weighted_logprob(logprobs: torch.Tensor, weights) -> torch.Tensor:
    """Sum of a sequence's target log-probs, each times its weight (the answer's log-likelihood)."""
    w = torch.as_tensor(weights.tolist() if hasattr(weights, "tolist") else weights, dtype=torch.float32)
    return torch.dot(logprobs.float().view(-1), w.view(-1))


def dpo_loss(chosen: list, rejected: list, chosen_ref: list, rejected_ref: list, beta: float,
             terms: dict[str, float] | None = None, chosen_tokens: list[int] | None = None):
    """The DPO objective over a batch of pairs: -log sigmoid(beta * (chosen reward - rejected reward)), a reward
    being the policy's answer log-likelihood minus the reference's; `terms` weighs it ("sigmoid") and optionally
    the chosen answers' per-token NLL ("sft", as TRL's RPO term). Returns the loss and its metrics."""
    terms = terms or {"sigmoid": 1.0}
    chosen_logp = torch.stack(chosen)
    chosen_reward = chosen_logp - torch.tensor(chosen_ref)
    rejected_reward = torch.stack(rejected) - torch.tensor(rejected_ref)
    margin = beta * (chosen_reward - rejected_reward)
    loss = terms.get("sigmoid", 0.0) * -F.logsigmoid(margin).mean()
    if "sft" in terms:
        loss = loss + terms["sft"] * (-chosen_logp / torch.tensor(chosen_tokens, dtype=torch.float32)).mean()
    return loss, {"dpo_loss": loss.item(), "accuracy": (margin > 0).float().mean().item(),
                  "margin": margin.mean().item() / beta}


@dataclass
class Cycle:
    """A training client for one cycle and where it started."""

    client: object
    index: int
    from_cycle: int | None  # None: a fresh adapter on the base model


class TinkerTrainer:
    def __init__(self, service: Service, cfg: AmpliConfig, base_model: str):
        self.service, self.cfg, self.base_model = service, cfg, base_model
        self.sdk = service.sdk

    # ---- clients -----------------------------------------------------------------------------------------

    def start(self, cycle: int, continue_from: int | None) -> Cycle:
        """A training client for `cycle`: a fresh LoRA adapter, or model `continue_from`'s saved training state."""
        svc = self.service
        if continue_from is None:
            client = svc.call("create training client", svc.client.create_lora_training_client,
                              base_model=self.base_model, rank=self.service.cfg.lora_rank,
                              seed=self.cfg.seed * 1_009 + cycle, train_mlp=True, train_attn=True, train_unembed=True)
        else:
            state = svc.weights(continue_from)["state"]
            client = svc.call("load training state", svc.client.create_training_client_from_state, state)
        return Cycle(client, cycle, continue_from)

    def sampler(self, model: int):
        """A sampling client for model `model` (-1: the base model, else cycle `model`'s saved sampler weights)."""
        svc = self.service
        if model < 0:
            return svc.call("create sampling client", svc.client.create_sampling_client, base_model=self.base_model)
        return svc.call("create sampling client", svc.client.create_sampling_client,
                        model_path=svc.weights(model)["sampler"])

    def adam(self, lr: float):
        regime = self.cfg.regime
        return self.sdk.AdamParams(learning_rate=lr, beta1=ADAM_BETA1, beta2=regime.adam_beta2,
                                   eps=self.service.cfg.adam_eps, weight_decay=regime.weight_decay,
                                   grad_clip_norm=regime.max_grad_norm or 0.0)

    def learning_rate(self, cycle: Cycle) -> float:
        regime = self.cfg.regime
        continual = cycle.from_cycle is not None
        return regime.continual_learning_rate if continual and regime.continual_learning_rate else regime.learning_rate

    def batch_size(self, cycle: int) -> int:
        regime = self.cfg.regime
        return regime.cycle0_batch_size if cycle == 0 and regime.cycle0_batch_size else regime.batch_size

    # ---- steps -------------------------------------------------------------------------------------------

    def run(self, cycle: Cycle, steps: list, forward_backward) -> tuple[dict, dict]:
        """One optimizer step per item of `steps`: forward_backward(client, item) -> (loss, tokens, metrics).
        Returns the cycle's training metrics and the last step's own metrics."""
        rates = learning_rates(self.cfg, len(steps), self.learning_rate(cycle))
        losses, last = [], {}
        for item, lr in zip(steps, rates):
            self.service.check_budget()
            loss, tokens, last = forward_backward(cycle.client, item)
            self.service.call("optim_step", cycle.client.optim_step, self.adam(lr))
            self.service.spend(steps=1, tokens=tokens)
            if not math.isfinite(loss):
                raise NonFiniteLossError(f"training loss became non-finite at step {len(losses) + 1} on Tinker; "
                                         f"lower regime.learning_rate")
            losses.append(loss)
        return {"train_loss": sum(losses) / len(losses) if losses else float("nan"), "train_steps": len(losses),
                "final_learning_rate": rates[-1] if rates else None}, last

    def finish(self, cycle: Cycle) -> dict:
        """Save the cycle's training state and sampler weights on the service and record their paths."""
        svc, name, ttl = self.service, f"cycle_{cycle.index:03d}", self.service.cfg.ttl_seconds
        state = svc.call("save state", cycle.client.save_state, name, ttl_seconds=ttl).path
        sampler = svc.call("save sampler weights", cycle.client.save_weights_for_sampler, name, ttl_seconds=ttl).path
        svc.record_weights(cycle.index, sampler=sampler, state=state)
        return {"tinker_sampler_path": sampler, "tinker_state_path": state}

    # ---- the losses ----------------------------------------------------------------------------------------

    def supervised(self, cycle: Cycle, sequences: list[WeightedTokens], drop_last: bool = True) -> dict:
        """Cross-entropy on the weighted tokens (SFT: the answers; SDF: whole documents), one epoch per
        regime.epochs, batches of regime.batch_size (cycle0_batch_size at cycle 0)."""
        data = [to_datum(self.sdk, s) for s in sequences]
        steps = self.epochs(list(zip(data, sequences)), cycle.index, drop_last)

        def step(client, batch):
            datums, seqs = zip(*batch)
            out = self.service.call("forward_backward", client.forward_backward, list(datums), "cross_entropy")
            tokens = sum(s.trained_tokens for s in seqs)
            return out.metrics.get("loss:sum", float("nan")) / max(tokens, 1), sum(len(s.tokens) for s in seqs), {}

        return {**self.run(cycle, steps, step)[0], "loss_fn": "cross_entropy"}

    def epochs(self, items: list, cycle: int, drop_last: bool, size: int | None = None) -> list[list]:
        """regime.epochs passes over items in batches (a fractional last epoch takes its share of the batches)."""
        rng = random.Random(self.cfg.seed * 100_003 + cycle * 1_009)
        whole, part = divmod(self.cfg.regime.epochs, 1)
        passes = []
        for _ in range(int(whole) + (part > 0)):
            order = list(items)
            rng.shuffle(order)  # a new order every epoch, as a local trainer's sampler draws
            passes.append(batches(order, size or self.batch_size(cycle), drop_last))
        if part > 0:
            passes[-1] = passes[-1][: math.ceil(part * len(passes[-1]))]
        return [batch for one in passes for batch in one]

    def dpo(self, cycle: Cycle, pairs: list[tuple[WeightedTokens, WeightedTokens]], reference: int) -> dict:
        """DPO over (chosen, rejected) pairs against model `reference`'s log-probs (sampled once, before training),
        the loss computed here from the policy's log-probs (forward_backward_custom)."""
        ref_client = self.sampler(reference)
        flat = [s for pair in pairs for s in pair]
        ref = self.answer_logprobs(ref_client, flat)
        items = [(to_datum(self.sdk, c), to_datum(self.sdk, r), ref[2 * i], ref[2 * i + 1], c.trained_tokens)
                 for i, (c, r) in enumerate(pairs)]
        steps = self.epochs(items, cycle.index, drop_last=False)
        regime = self.cfg.regime
        terms = dict(zip(regime.loss_type, regime.loss_weights or [1.0] * len(regime.loss_type)))

        def step(client, batch):
            data = [d for c, r, *_ in batch for d in (c, r)]

            def loss_fn(datums, logprobs):
                logps = [weighted_logprob(lp, d.loss_fn_inputs["weights"]) for d, lp in zip(datums, logprobs)]
                return dpo_loss(logps[0::2], logps[1::2], [b[2] for b in batch], [b[3] for b in batch], regime.beta,
                                terms, [b[4] for b in batch])

            out = self.service.call("forward_backward_custom", client.forward_backward_custom, data, loss_fn)
            tokens = sum(d.model_input.length + 1 for d in data)
            return out.metrics.get("dpo_loss", float("nan")), tokens, dict(out.metrics)

        metrics, last = self.run(cycle, steps, step)
        return {**metrics, "loss_fn": "dpo (forward_backward_custom)", "reward_accuracy": last.get("accuracy"),
                "reward_margin": last.get("margin")}

    def answer_logprobs(self, sampler, sequences: list[WeightedTokens]) -> list[float]:
        """A model's log-likelihood of each sequence's weighted tokens (its answer), from compute_logprobs."""
        self.service.check_budget()
        requests = [lambda ids=s.tokens: sampler.compute_logprobs(self.sdk.ModelInput.from_ints(ids))
                    for s in sequences]
        logprobs = self.service.call_all("compute_logprobs", requests)
        self.service.spend(tokens=sum(len(s.tokens) for s in sequences))
        return [sum(w * (lp or 0.0) for w, lp in zip(s.weights[1:], lps[1:])) for s, lps in zip(sequences, logprobs)]
