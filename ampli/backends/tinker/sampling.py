"""Sampling any cycle's model on the Tinker service: ampli's Generator interface (ampli.generation) over the SDK's
SamplingClient, so the loop and the regimes ask for "model n's answers" exactly as they do locally.

Prompts are rendered and tokenized here with the run's tokenizer (the base model's own), sampled up to the
end-of-sequence token, and decoded here; every request of a call is submitted before any is awaited, so the service
works on them side by side. Perplexity is the base model's, from compute_logprobs.
"""

import math

from ampli.backends.tinker.training import TinkerTrainer
from ampli.generation.batched import prompt_ids


def answer_perplexity(logprobs: list, prompt_tokens: int) -> float:
    """exp(mean NLL) of the answer's tokens, each given everything before it, from compute_logprobs' list (one per
    token, None for the first token of all, which nothing precedes). A None among the answer's tokens stops: counted
    as 0 it would make the answer look certain."""
    scored = logprobs[max(prompt_tokens, 1):]
    if any(lp is None for lp in scored):
        raise RuntimeError(f"the Tinker service returned no log-prob for {sum(lp is None for lp in scored)} of the "
                           f"{len(scored)} answer tokens it was asked to score; the perplexity would be wrong")
    return math.exp(-sum(scored) / len(scored)) if scored else math.nan


def check_logprobs(sequences: list[list]) -> None:
    """Stop with one line if a sampled sequence came back without a log-prob for each of its tokens."""
    for i, per_prompt in enumerate(sequences):
        for s, seq in enumerate(per_prompt):
            logprobs = seq.logprobs
            if logprobs is None or len(logprobs) != len(seq.tokens) or any(lp is None for lp in logprobs):
                got = "none" if logprobs is None else f"{sum(lp is not None for lp in logprobs)} of {len(seq.tokens)}"
                raise RuntimeError(f"the Tinker service returned sampled tokens without their log-probs (sample {s} "
                                   f"of prompt {i}: {got}); the on-policy loss needs the sampler's log-prob of every "
                                   f"token, so the cycle stops before training on them")


class TinkerGenerator:
    def __init__(self, trainer: TinkerTrainer, tokenizer):
        self.trainer, self.tokenizer = trainer, tokenizer
        self.service, self.sdk = trainer.service, trainer.sdk

    def sample(self, model: int, prompts: list[str], *, n: int, max_new_tokens: int, temperature: float, seed: int,
               chat: bool, desc: str) -> list[str]:
        sequences = self.sample_tokens(model, prompt_ids(self.tokenizer, prompts, chat), n=n,
                                       max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                                       with_logprobs=False)
        k = len(prompts)  # answers come back flat as prompts * n: sample s of prompt p at s * k + p
        return [self.tokenizer.decode(sequences[i % k][i // k].tokens, skip_special_tokens=True).strip()
                for i in range(k * n)]

    def sample_tokens(self, model: int, prompts: list[list[int]], *, n: int, max_new_tokens: int, temperature: float,
                      seed: int, sampler=None, with_logprobs: bool = True) -> list[list]:
        """n sampled sequences (tokens, log-probs) per tokenized prompt, from model `model` or the given sampler.
        with_logprobs: every sequence must carry one log-prob per token (the SDK may return None for them), since
        a loss weighted by the sampler's probability would otherwise read zeros or fail mid-cycle."""
        if not prompts:
            return []
        self.service.check_budget()
        sampler = sampler or self.trainer.sampler(model)
        params = [self.sdk.SamplingParams(max_tokens=max_new_tokens, temperature=temperature, seed=seed + i,
                                          stop=[self.tokenizer.eos_token_id]) for i in range(len(prompts))]
        inputs = [self.sdk.ModelInput.from_ints(p) for p in prompts]
        requests = [lambda x=x, p=p: sampler.sample(prompt=x, num_samples=n, sampling_params=p)
                    for x, p in zip(inputs, params)]
        responses = self.service.call_all("sample", requests)
        sequences = [list(r.sequences) for r in responses]
        if with_logprobs:
            check_logprobs(sequences)
        self.service.spend(tokens=sum(len(p) * n for p in prompts) +
                           sum(len(s.tokens) for seqs in sequences for s in seqs))
        return sequences

    def perplexity(self, prompts: list[str], responses: list[str], chat: bool) -> list[float]:
        self.service.check_budget()
        base = self.trainer.sampler(-1)
        answers = self.tokenizer(list(responses), add_special_tokens=False)["input_ids"] if responses else []
        pairs = list(zip(prompt_ids(self.tokenizer, list(prompts), chat) if prompts else [], answers, strict=True))
        scored = [(p, a) for p, a in pairs if a]
        requests = [lambda ids=p + a: base.compute_logprobs(self.sdk.ModelInput.from_ints(ids)) for p, a in scored]
        logprobs = iter(self.service.call_all("compute_logprobs", requests))
        self.service.spend(tokens=sum(len(p) + len(a) for p, a in scored))
        return [answer_perplexity(next(logprobs), len(prompt)) if answer else math.nan for prompt, answer in pairs]

    def release(self) -> None:
        """Nothing is held in this process: the models live on the service."""
