"""On-policy distillation on the Tinker service, the authors' estimator: per sampled token, the student's
log-prob minus the teacher's is a (negative) reward, used in an importance-sampling policy-gradient loss.

Each step the student's current weights are snapshotted to a sampler, which draws regime.group_size answers to
each of the step's prompts (regime.batch_size sequences a step); the teacher (model n-1) scores the same tokens with
compute_logprobs; the datum carries the sampler's log-probs and the per-token advantage
-regime.kl_coef * (log p_student - log p_teacher), and forward_backward runs the service's "importance_sampling"
loss. In expectation over the student's samples this lowers KL(student || teacher) from sampled tokens only,
unlike the local backend's full-vocabulary KL (ampli.regimes.distill).
"""

from ampli.generation.batched import prompt_ids
from ampli.tinker_backend.sampling import TinkerGenerator
from ampli.tinker_backend.training import Cycle, TinkerTrainer


def onpolicy_datum(sdk, prompt: list[int], sampled, teacher_logprobs: list, kl_coef: float):
    """A sampled answer as an importance-sampling datum, and its tokens' student - teacher log-prob gaps."""
    tokens = prompt + list(sampled.tokens)
    gaps = [s - (t or 0.0) for s, t in zip(sampled.logprobs, teacher_logprobs)]
    pad = [0.0] * (len(prompt) - 1)  # prompt positions: nothing sampled, nothing learned
    datum = sdk.Datum(model_input=sdk.ModelInput.from_ints(tokens[:-1]),
                      loss_fn_inputs={"target_tokens": tokens[1:], "logprobs": pad + list(sampled.logprobs),
                                      "advantages": pad + [-kl_coef * g for g in gaps]})
    return datum, gaps


def distill(trainer: TinkerTrainer, generator: TinkerGenerator, cycle: Cycle, prompts: list[str], teacher: int,
            tokenizer) -> dict:
    """Train `cycle`'s student toward model `teacher` on rendered chat prompts; returns training metrics."""
    cfg, svc, sdk = trainer.cfg, trainer.service, trainer.sdk
    regime, max_new_tokens = cfg.regime, cfg.model.max_new_tokens
    teacher_client = trainer.sampler(teacher)
    per_step = max(1, regime.batch_size // regime.group_size)  # prompts a step, each sampled group_size times
    steps = trainer.epochs(prompt_ids(tokenizer, prompts, chat=True), cycle.index, drop_last=True, size=per_step)
    kl = []

    def step(client, batch):
        student = svc.call("snapshot student", client.save_weights_and_get_sampling_client)
        sampled = generator.sample_tokens(cycle.index, batch, n=regime.group_size, max_new_tokens=max_new_tokens,
                                          temperature=regime.temperature, seed=cfg.seed * 7 + len(kl), sampler=student)
        pairs = [(p, s) for p, group in zip(batch, sampled) for s in group if len(s.tokens) > 0]
        requests = [lambda ids=p + list(s.tokens): teacher_client.compute_logprobs(sdk.ModelInput.from_ints(ids))
                    for p, s in pairs]
        teacher_logprobs = svc.call_all("compute_logprobs", requests)
        data, gaps = [], []
        for (p, s), lps in zip(pairs, teacher_logprobs):
            datum, g = onpolicy_datum(sdk, p, s, lps[len(p):], regime.kl_coef)
            data.append(datum)
            gaps.extend(g)
        kl.append(sum(gaps) / max(len(gaps), 1))
        svc.call("forward_backward", client.forward_backward, data, "importance_sampling")
        return kl[-1], sum(d.model_input.length + 1 for d in data), {"sequences": len(data)}

    metrics, _ = trainer.run(cycle, steps, step)
    return {**metrics, "loss_fn": "importance_sampling", "kl_estimator": "sampled tokens",
            "sampled_kl_start": kl[0] if kl else None, "sampled_kl_end": kl[-1] if kl else None,
            "onpolicy_samples": len(steps) * per_step * regime.group_size, "max_completion_length": max_new_tokens}
