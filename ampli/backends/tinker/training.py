"""Training a cycle's model on the Tinker service, as the cycle's plan (ampli.models.training_plan) says.

One LoRA training client per cycle: a fresh adapter on the base model, or the saved training state of the model the
plan starts from. Each optimizer step is grad_accum forward_backward requests (a built-in loss, or ampli's own loss
over the returned log-probs with forward_backward_custom), whose gradients the service adds up, then one optim_step
with Adam at the plan's learning rate for that step. Losses are scaled so that the step's gradient is the per-token
mean over its whole batch, as TRL computes it: the service's cross_entropy is a sum over tokens, and clipping
(regime.max_grad_norm) a sum would clip a gradient as many times larger as the batch has tokens. When the cycle ends
its training state and sampler weights are saved, and their paths go into the run's ledger.
"""

import logging
import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ampli.backends.tinker.datums import WeightedTokens, batches, to_datum
from ampli.backends.tinker.service import Service
from ampli.config.schema import AmpliConfig
from ampli.models.training import NonFiniteLossError
from ampli.models.training_plan import BASE, TrainingPlan, check_followed

log = logging.getLogger("ampli")


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


def known_logprobs(logprobs: list, weights: list, whose: str) -> list:
    """The log-probs of the tokens that count (weight > 0), refusing one the service left out: a missing
    log-prob counted as 0 would read as a certain token and bias the loss without a sign."""
    if any(lp is None and w for lp, w in zip(logprobs, weights)):
        raise RuntimeError(f"the Tinker service returned no log-prob for some of the {whose} model's scored tokens; "
                           f"the cycle stops before training on a loss that would count them as certain")
    return [0.0 if lp is None else lp for lp in logprobs]


@dataclass
class Cycle:
    """A training client for one cycle, and its plan."""

    client: object
    plan: TrainingPlan

    @property
    def index(self) -> int:
        return self.plan.cycle


class TinkerTrainer:
    def __init__(self, service: Service, cfg: AmpliConfig, base_model: str):
        self.service, self.cfg, self.base_model = service, cfg, base_model
        self.sdk = service.sdk

    # ---- clients -----------------------------------------------------------------------------------------

    def start(self, plan: TrainingPlan) -> Cycle:
        """A training client for the plan's cycle: a fresh LoRA adapter (rank, parts and unembedding of the plan's
        adapter), or the saved training state of the model the plan starts from."""
        svc, lora = self.service, plan.lora
        if plan.fresh:
            client = svc.call("create training client", svc.client.create_lora_training_client,
                              base_model=self.base_model, rank=lora["r"], seed=self.cfg.seed * 1_009 + plan.cycle,
                              train_mlp="mlp" in lora["cover"], train_attn="attention" in lora["cover"],
                              train_unembed=lora["unembed"])
        else:
            state = svc.weights(plan.start)["state"]
            client = svc.call("load training state", svc.client.create_training_client_from_state, state)
        return Cycle(client, plan)

    def sampler(self, model: int):
        """A sampling client for model `model` (BASE: the base model, else cycle `model`'s saved sampler weights)."""
        svc = self.service
        if model == BASE:
            return svc.call("create sampling client", svc.client.create_sampling_client, base_model=self.base_model)
        return svc.call("create sampling client", svc.client.create_sampling_client,
                        model_path=svc.weights(model)["sampler"])

    def adam(self, plan: TrainingPlan, lr: float):
        adam = plan.adam
        return self.sdk.AdamParams(learning_rate=lr, beta1=adam["beta1"], beta2=adam["beta2"], eps=adam["eps"],
                                   weight_decay=adam["weight_decay"], grad_clip_norm=adam["max_grad_norm"] or 0.0)

    # ---- steps -------------------------------------------------------------------------------------------

    def run(self, cycle: Cycle, updates: list[list[list]], forward_backward) -> tuple[dict, dict]:
        """One optimizer step per update (a list of grad_accum micro-batches): forward_backward(client, micro-batch,
        update) -> (loss, tokens, metrics) for each, then optim_step at the plan's rate. Returns the cycle's
        training metrics (with what was executed, checked against the plan) and the last micro-batch's metrics."""
        plan = cycle.plan
        losses, last, rates = [], {}, []
        for update, lr in zip(updates, plan.learning_rates):
            self.service.check_budget()
            loss = 0.0
            for micro in update:
                part, tokens, last = forward_backward(cycle.client, micro, update)
                loss += part
                self.service.spend(tokens=tokens)
            self.service.call("optim_step", cycle.client.optim_step, self.adam(plan, lr))
            self.service.spend(steps=1)
            rates.append(lr)
            if not math.isfinite(loss):
                raise NonFiniteLossError(f"training loss became non-finite at step {len(losses) + 1} on Tinker; "
                                         f"lower regime.learning_rate")
            losses.append(loss)
        executed = check_followed(plan, len(updates), rates)
        return {"train_loss": sum(losses) / len(losses) if losses else float("nan"), "train_steps": len(losses),
                "final_learning_rate": executed["final_learning_rate"], "plan": plan.record(),
                "executed": executed}, last

    def finish(self, cycle: Cycle) -> dict:
        """Save the cycle's training state and sampler weights on the service and record their paths."""
        svc, name, ttl = self.service, f"cycle_{cycle.index:03d}", self.service.cfg.ttl_seconds
        state = svc.call("save state", cycle.client.save_state, name, ttl_seconds=ttl).path
        sampler = svc.call("save sampler weights", cycle.client.save_weights_for_sampler, name, ttl_seconds=ttl).path
        svc.record_weights(cycle.index, sampler=sampler, state=state)
        return {"tinker_sampler_path": sampler, "tinker_state_path": state}

    # ---- the losses ----------------------------------------------------------------------------------------

    def supervised(self, cycle: Cycle, sequences: list[WeightedTokens]) -> dict:
        """Cross-entropy on the weighted tokens (SFT: the answers; SDF: whole documents), each token weighted by 1 /
        the trained tokens of its optimizer step, so that the summed loss is the step's per-token mean."""
        updates = self.updates(cycle.plan, list(sequences))

        def step(client, micro, update):
            total = max(sum(s.trained_tokens for m in update for s in m), 1)
            data = [to_datum(self.sdk, s, scale=1.0 / total) for s in micro]
            out = self.service.call("forward_backward", client.forward_backward, data, "cross_entropy")
            return out.metrics.get("loss:sum", float("nan")), sum(len(s.tokens) for s in micro), {}

        return {**self.run(cycle, updates, step)[0], "loss_fn": "cross_entropy"}

    def updates(self, plan: TrainingPlan, items: list, drop_last: bool = False) -> list[list[list]]:
        """The plan's optimizer steps over `items`: each epoch a new order (as a local trainer's sampler draws),
        cut into micro-batches of batch_size, grad_accum of them a step (an epoch's last step may have fewer); a
        fractional last epoch takes its share of the steps. drop_last: whole windows of batch_size x grad_accum
        items only (on-policy distillation, as TRL samples)."""
        rng = random.Random(self.cfg.seed * 100_003 + plan.cycle * 1_009)
        steps: list[list[list]] = []
        while len(steps) < plan.steps:
            order = list(items)
            rng.shuffle(order)
            if drop_last:
                window = plan.batch_size * plan.grad_accum
                order = order[: len(order) // window * window]
            micro = batches(order, plan.batch_size)
            steps += [micro[i : i + plan.grad_accum] for i in range(0, len(micro), plan.grad_accum)]
        return steps[: plan.steps]

    def dpo(self, cycle: Cycle, pairs: list[tuple[WeightedTokens, WeightedTokens]]) -> dict:
        """DPO over (chosen, rejected) pairs against the plan's reference model's log-probs (sampled once, before
        training), the loss computed here from the policy's log-probs (forward_backward_custom): each micro-batch's
        mean over its pairs, divided by grad_accum, as TRL averages a step."""
        plan = cycle.plan
        ref_client = self.sampler(plan.reference)
        flat = [s for pair in pairs for s in pair]
        ref = self.answer_logprobs(ref_client, flat)
        items = [(to_datum(self.sdk, c), to_datum(self.sdk, r), ref[2 * i], ref[2 * i + 1], c.trained_tokens)
                 for i, (c, r) in enumerate(pairs)]
        updates = self.updates(plan, items)
        regime = self.cfg.regime
        terms = dict(zip(regime.loss_type, regime.loss_weights or [1.0] * len(regime.loss_type)))

        def step(client, micro, update):
            data = [d for c, r, *_ in micro for d in (c, r)]

            def loss_fn(datums, logprobs):
                logps = [weighted_logprob(lp, d.loss_fn_inputs["weights"]) for d, lp in zip(datums, logprobs)]
                loss, metrics = dpo_loss(logps[0::2], logps[1::2], [b[2] for b in micro], [b[3] for b in micro],
                                         regime.beta, terms, [b[4] for b in micro])
                return loss / len(update), metrics

            out = self.service.call("forward_backward_custom", client.forward_backward_custom, data, loss_fn)
            tokens = sum(d.model_input.length + 1 for d in data)
            return out.metrics.get("dpo_loss", float("nan")) / len(update), tokens, dict(out.metrics)

        metrics, last = self.run(cycle, updates, step)
        return {**metrics, "loss_fn": "dpo (forward_backward_custom)", "reward_accuracy": last.get("accuracy"),
                "reward_margin": last.get("margin")}

    def answer_logprobs(self, sampler, sequences: list[WeightedTokens]) -> list[float]:
        """A model's log-likelihood of each sequence's weighted tokens (its answer), from compute_logprobs."""
        self.service.check_budget()
        requests = [lambda ids=s.tokens: sampler.compute_logprobs(self.sdk.ModelInput.from_ints(ids))
                    for s in sequences]
        logprobs = self.service.call_all("compute_logprobs", requests)
        self.service.spend(tokens=sum(len(s.tokens) for s in sequences))
        return [sum(w * lp for w, lp in zip(s.weights[1:], known_logprobs(lps[1:], s.weights[1:], "reference")))
                for s, lps in zip(sequences, logprobs)]
