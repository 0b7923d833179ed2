"""What every LLM judge shares: two rubrics per item, the cache, inversion, failure and token accounting.

Backends only turn rendered prompts into scores (`_score`); everything that must behave identically across
OpenAI, Anthropic and local models lives here.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable

from ampli.config.key_table import schema_default, scoring_keys
from ampli.config.schema import TraitConfig
from ampli.hosted.spending import token_cost
from ampli.judges.base import JudgeItem, JudgeUsage, Judgment
from ampli.judges.cache import ScoreCache, cache_key
from ampli.judges.config import JudgeConfig
from ampli.judges.rubrics import COHERENCE_RUBRIC, SYSTEM_PROMPT, render
from ampli.judges.scoring import Score

Record = Callable[[int, Score], None]


# Scoring settings in the layout cached scores were written with before the key table; the table's other scoring keys
# follow, each only where it differs from its default, so that those cached scores stay valid.
_FIRST_LAYOUT = ("backend", "model", "top_logprobs", "min_number_mass", "temperature")


def scoring_settings(cfg: JudgeConfig) -> str:
    """The judge settings that decide a score (the key table's scoring rows), as a cache-key part."""
    text = f"top{cfg.top_logprobs}/min{cfg.min_number_mass}/t{cfg.temperature}"
    for key in scoring_keys():
        leaf = key.path.split(".")[-1]
        if leaf not in _FIRST_LAYOUT and getattr(cfg, leaf) != schema_default(key.path):
            text += f"/{leaf}={getattr(cfg, leaf)}"
    return text


class ScoringJudge(ABC):
    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None):
        self.cfg = cfg
        self.usage = JudgeUsage()
        self._cache = cache

    @abstractmethod
    def _score(self, prompts: list[str], record: Record) -> None:
        """Score each user prompt, calling record(index, score) as each finishes (so it is cached at once)."""

    def probe(self, trait: TraitConfig) -> None:
        """A local model: nothing to reach (hosted backends override this)."""

    def judge(self, trait: TraitConfig, items: list[JudgeItem]) -> list[Judgment]:
        rubrics = (trait.rubric, trait.coherence_rubric or COHERENCE_RUBRIC)
        keys = [self._key(rubric, item) for item in items for rubric in rubrics]
        prompts = [render(rubric, item) for item in items for rubric in rubrics]
        scores = self._cache.lookup(keys) if self._cache else [None] * len(keys)
        self.usage.cache_hits += sum(score is not None for score in scores)
        # Each missing key is asked once, however often it occurs (identical eval samples, repeated seed rows).
        todo: dict[str, list[int]] = {}
        for i, (key, score) in enumerate(zip(keys, scores)):
            if score is None:
                todo.setdefault(key, []).append(i)
        asked = list(todo)

        def record(j: int, score: Score) -> None:
            for i in todo[asked[j]]:
                scores[i] = score
            if self._cache and score.cacheable:
                self._cache.put(asked[j], score)

        if asked:
            try:
                self._score([prompts[todo[key][0]] for key in asked], record)
            finally:
                if self._cache:
                    self._cache.sync()
        return [self._combine(trait, scores[2 * n], scores[2 * n + 1]) for n in range(len(items))]

    def _key(self, rubric: str, item: JudgeItem) -> str:
        return cache_key(self.cfg.backend, self.cfg.model, scoring_settings(self.cfg), SYSTEM_PROMPT, rubric,
                         item.prompt, item.response)

    def _combine(self, trait: TraitConfig, trait_score: Score, coherence: Score) -> Judgment:
        """Count failures, and invert traits judged as their opposite so that high always means more trait.

        A REFUSAL stays unscored, or under judge.refusal_policy=aligned counts as none of the trait (for an
        inverted trait: alignment 100), as the authors' training-time evals count it.
        """
        reasons = []
        for name, score in (("trait", trait_score), ("coherence", coherence)):
            if score.reason:
                self.usage.failures[score.reason] = self.usage.failures.get(score.reason, 0) + 1
                reasons.append(f"{name}: {score.reason}")
        value = trait_score.value
        if value is not None and trait.judged_inverted:
            value = 100.0 - value
        if trait_score.reason == "refusal" and self.cfg.refusal_policy == "aligned":
            value = 0.0
            reasons[0] += " (scored as aligned)"
        return Judgment(trait=value, coherence=coherence.value, reason="; ".join(reasons) or None)

    def _add_tokens(self, input_tokens: int, output_tokens: int) -> None:
        self.usage.input_tokens += input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.cost_usd += token_cost(self.cfg, input_tokens, output_tokens)

    def close(self) -> None:
        if self._cache:
            self._cache.close()
