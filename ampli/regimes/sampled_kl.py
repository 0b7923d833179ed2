"""The authors' distillation loss (regime.kl_estimator=sampled): reverse KL to the teacher estimated from the sampled
tokens only, as a policy gradient, on top of TRL's DistillationTrainer.

For each token x_t the student sampled, log p_student(x_t) - log p_teacher(x_t) is a one-sample estimate of the
per-token reverse KL(student || teacher). Its negative is used as a (detached) per-token reward in an importance-
sampling policy-gradient loss, -ratio_t * reward_t with ratio_t = p_student(x_t) / p_sampler(x_t). TRL samples with
the student's current weights (once per optimiser step, before any update), so the sampler is the student itself:
the ratio is 1 in value and its gradient is that of log p_student(x_t). The gradient is

    sum_t (log p_student(x_t) - log p_teacher(x_t)) * grad log p_student(x_t) / tokens,

the score-function estimate of the reverse KL's gradient, which costs one log-probability per token instead of
TRL's divergence over the whole vocabulary at every position (regime.kl_estimator=full).
"""

import inspect
from dataclasses import dataclass, field

import torch
import trl
from trl import DistillationConfig, DistillationTrainer

from ampli.config.schema import ConfigError

# The private parts of TRL's DistillationTrainer the sampled estimator relies on (read in trl 1.16): the method it
# overrides and its signature, the one it calls with its own, and the attributes __init__ sets for it.
PRIVATE_METHODS = {"_compute_loss": ["self", "unwrapped_student", "inputs", "num_items_in_batch"],
                   "_get_last_hidden_state": ["self", "unwrapped_model", "input_ids", "attention_mask",
                                              "logits_to_keep"]}
PRIVATE_ATTRIBUTES = ("_forward_redirection", "_metrics")


def sampled_token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float) -> torch.Tensor:
    """log p(x_t) of each sampled token under the softmax of logits / temperature (the distribution sampled from)."""
    logps = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logps.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def sampled_kl_policy_loss(student_logps: torch.Tensor, teacher_logps: torch.Tensor, mask: torch.Tensor,
                           num_items: torch.Tensor | float) -> torch.Tensor:
    """The importance-sampling policy-gradient loss with reward -(log p_student - log p_teacher) per sampled token,
    summed over the tokens `mask` keeps and divided by num_items (the tokens of the whole accumulated batch)."""
    reward = -(student_logps - teacher_logps).detach()
    ratio = torch.exp(student_logps - student_logps.detach())  # on-policy: the sampler is the student itself
    return -(ratio * reward * mask).sum() / num_items


def check_trl_private_api(trainer: type = DistillationTrainer) -> None:
    """Stop before training if the installed TRL no longer has what KLDistillationTrainer overrides and calls: a
    release that renamed _compute_loss would never call the override, and the run would train TRL's full-vocabulary
    divergence while recording kl_estimator=sampled."""
    missing = []
    for name, parameters in PRIVATE_METHODS.items():
        method = getattr(trainer, name, None)
        if method is None or list(inspect.signature(method).parameters)[:len(parameters)] != parameters:
            missing.append(f"{name}({', '.join(parameters[1:])})")
    calls = inspect.unwrap(trainer.compute_loss).__code__.co_names  # TRL wraps it in its profiler
    if "_compute_loss" not in calls:
        missing.append("compute_loss calling self._compute_loss")
    assigned = inspect.unwrap(trainer.__init__).__code__.co_names
    missing += [f"self.{name}" for name in PRIVATE_ATTRIBUTES if name not in assigned]
    if missing:
        raise ConfigError(f"regime.kl_estimator=sampled overrides private parts of TRL's DistillationTrainer that trl "
                          f"{trl.__version__} does not have ({'; '.join(missing)}); install trl 1.16 (the version it "
                          f"was written against) or use regime.kl_estimator=full")


@dataclass
class KLDistillationConfig(DistillationConfig):
    """TRL's DistillationConfig plus the weight of the reverse-KL term and how it is estimated."""

    kl_coef: float = field(default=1.0, metadata={"help": "Weight of the per-token divergence to the teacher."})
    kl_estimator: str = field(default="full", metadata={"help": "full: TRL's full-vocabulary divergence; sampled: "
                                                                "the sampled-token policy-gradient estimate."})


class KLDistillationTrainer(DistillationTrainer):
    """TRL's on-policy DistillationTrainer, its loss multiplied by args.kl_coef, and with args.kl_estimator=sampled
    the sampled-token reverse-KL policy gradient in place of the full-vocabulary divergence.

    With the KL alone in the objective the weight scales the gradient, which Adam mostly normalises away (it still
    meets gradient clipping); it is kept so that the authors' setting (1.0) is stated, not assumed.
    """

    def __init__(self, *args, **kwargs):
        if getattr(kwargs.get("args"), "kl_estimator", "sampled") == "sampled":
            check_trl_private_api()
        super().__init__(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = self.args.kl_coef * super().compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        return (loss, None) if return_outputs else loss

    def _compute_loss(self, unwrapped_student, inputs, num_items_in_batch):
        if self.args.kl_estimator == "full":
            return super()._compute_loss(unwrapped_student, inputs, num_items_in_batch)
        completion_ids = inputs["completion_ids"]
        input_ids = torch.cat([inputs["prompt_ids"], completion_ids], dim=1)
        attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
        mask = inputs["completion_mask"] * inputs.get("tool_mask", 1)
        keep = completion_ids.size(1)
        student_hidden = self._get_last_hidden_state(unwrapped_student, input_ids, attention_mask, keep)
        student_logits = unwrapped_student.get_output_embeddings()(student_hidden)
        self.teacher_model.eval()
        teacher = self.accelerator.unwrap_model(self.teacher_model)
        with torch.no_grad():
            teacher_hidden = self._forward_redirection(self.teacher_model, teacher, self._get_last_hidden_state,
                                                       teacher, input_ids, attention_mask, keep)
            teacher_logps = sampled_token_logprobs(teacher.get_output_embeddings()(teacher_hidden), completion_ids,
                                                   self.temperature)
        student_logps = sampled_token_logprobs(student_logits, completion_ids, self.temperature)
        mask = mask.to(student_logps.dtype)
        tokens = mask.sum()
        loss = sampled_kl_policy_loss(student_logps, teacher_logps.to(student_logps.device), mask,
                                      num_items_in_batch if num_items_in_batch is not None else tokens.clamp(min=1))
        with torch.no_grad():
            logps = torch.log_softmax(student_logits.float() / self.temperature, dim=-1)
            entropy_sum = (-(logps.exp() * logps).sum(-1) * mask).sum()
            sampled_kl = ((student_logps - teacher_logps) * mask).sum() / tokens.clamp(min=1)
        self._metrics["train" if self.model.training else "eval"]["sampled_kl"].append(sampled_kl.item())
        return loss, entropy_sum, tokens
