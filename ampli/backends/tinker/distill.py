"""On-policy distillation on the Tinker service, the authors' estimator: per sampled token, the student's
log-prob minus the teacher's is a (negative) reward, used in an importance-sampling policy-gradient loss.

Each micro-batch the student's current weights are snapshotted to a sampler, which draws one answer to each of its
records' prompts (a cycle's records hold each prompt regime.group_size times, so a prompt's group is sampled across
them, as TRL's on-policy trainer does; batch_size x grad_accum a step, whole windows only); the teacher (model n-1) scores the same tokens with
compute_logprobs; the datum carries the sampler's log-probs and the per-token advantage
-regime.kl_coef * (log p_student - log p_teacher), and forward_backward runs the service's "importance_sampling"
loss. In expectation over the student's samples this lowers KL(student || teacher) from sampled tokens only,
unlike the local backend's full-vocabulary KL (ampli.regimes.distill).
"""

from ampli.backends.tinker.sampling import TinkerGenerator
from ampli.backends.tinker.training import Cycle, TinkerTrainer, known_logprobs
from ampli.generation.batched import prompt_ids


def onpolicy_datum(sdk, prompt: list[int], sampled, teacher_logprobs: list, kl_coef: float):
    """A sampled answer as an importance-sampling datum, and its tokens' student - teacher log-prob gaps."""
    tokens = prompt + list(sampled.tokens)
    gaps = [s - t for s, t in zip(sampled.logprobs, known_logprobs(teacher_logprobs, [1.0] * len(sampled.logprobs), "teacher"))]
    pad = [0.0] * (len(prompt) - 1)  # prompt positions: nothing sampled, nothing learned
    datum = sdk.Datum(model_input=sdk.ModelInput.from_ints(tokens[:-1]),
                      loss_fn_inputs={"target_tokens": tokens[1:], "logprobs": pad + list(sampled.logprobs),
                                      "advantages": pad + [-kl_coef * g for g in gaps]})
    return datum, gaps


def distill(trainer: TinkerTrainer, generator: TinkerGenerator, cycle: Cycle, prompts: list[str], tokenizer) -> dict:
    """Train `cycle`'s student toward the plan's teacher on rendered chat prompts (one per record); returns training
    metrics."""
    cfg, svc, sdk, plan = trainer.cfg, trainer.service, trainer.sdk, cycle.plan
    regime, max_new_tokens = cfg.regime, cfg.model.max_new_tokens
    teacher_client = trainer.sampler(plan.teacher)
    updates = trainer.updates(plan, prompt_ids(tokenizer, prompts, chat=True), drop_last=True)
    kl, samples = [], 0

    def step(client, micro, update):
        nonlocal samples
        student = svc.call("snapshot student", client.save_weights_and_get_sampling_client)
        sampled = generator.sample_tokens(cycle.index, micro, n=1, max_new_tokens=max_new_tokens,
                                          temperature=regime.temperature, seed=cfg.seed * 7 + len(kl), sampler=student)
        pairs = [(p, s) for p, group in zip(micro, sampled) for s in group if len(s.tokens) > 0]
        requests = [lambda ids=p + list(s.tokens): teacher_client.compute_logprobs(sdk.ModelInput.from_ints(ids))
                    for p, s in pairs]
        teacher_logprobs = svc.call_all("compute_logprobs", requests)
        # The loss is a mean over the step's sampled tokens, as TRL's: this micro-batch's count times the step's
        # micro-batches (the others are not sampled yet).
        tokens = max(sum(len(s.tokens) for _, s in pairs), 1) * len(update)
        data, gaps = [], []
        for (p, s), lps in zip(pairs, teacher_logprobs):
            datum, g = onpolicy_datum(sdk, p, s, lps[len(p):], regime.kl_coef / tokens)
            data.append(datum)
            gaps.extend(g)
        kl.append(sum(gaps) / max(len(gaps), 1))
        samples += len(micro)
        svc.call("forward_backward", client.forward_backward, data, "importance_sampling")
        return kl[-1] / len(update), sum(d.model_input.length + 1 for d in data), {"sequences": len(data)}

    metrics, _ = trainer.run(cycle, updates, step)
    return {**metrics, "loss_fn": "importance_sampling", "kl_estimator": "sampled",
            "sampled_kl_start": kl[0] if kl else None, "sampled_kl_end": kl[-1] if kl else None,
            "onpolicy_samples": samples, "max_completion_length": max_new_tokens}
