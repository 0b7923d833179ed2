"""The offline judge: deterministic, instant, no network. Good enough to rank trait expression of small models.

Trait: density of the trait's lexicon words (conf/trait/*.yaml `lexicon`), mapped to 0-100 with a saturating
curve, so one trait word in a sentence already counts and a text made of trait words scores near 100.
Coherence: the product of signs of fluent English, each in [0, 1]: real words and word pairs (seen in ampli's
corpus; garbled output has made-up words and pairs no sentence contains), a natural share of function words
(word salads of trait words have almost none), and little repetition (distinct bigrams). Trait-word salad therefore scores high trait and low coherence, which is what
an LLM judge would say too. Text is also the share of the answer's visible characters that are plain text: a
model that degenerates into stray bytes ("Oh, I sense good\ufffd\ufffd\ufffd...") is not coherent because
its few letters are.
"""

import math
import re
from functools import cache

from ampli.config.schema import TraitConfig
from ampli.inputs import corpus
from ampli.judges.base import Judgment, JudgeItem, JudgeUsage

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
PLAIN_TEXT = re.compile(r"[ -~\u2018\u2019\u201c\u201d\u2013\u2014\u2026]")  # printable ASCII, typographic quotes
TRAIT_DENSITY_SCALE = 0.08
FUNCTION_WORD_SHARE = 0.3
FUNCTION_WORDS = frozenset(
    "a an the and or but if so of to in on at by for with from as is are was were be been being am it its "
    "this that these those i you he she we they me him her us them my your his our their not no do does did "
    "have has had will would can could should may might must there here what which who how when where why "
    "all any some more most very just than then too also about into over up out".split()
)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


@cache
def vocabulary() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """The words and word pairs of ampli's shipped corpus: built once per process (0.4 s), since the shipped files
    do not change under a running process and every run of a sweep in it would otherwise build it again."""
    tokenized = [words(text) for text in corpus.all_texts()]
    return (frozenset(w for t in tokenized for w in t),
            frozenset(pair for t in tokenized for pair in zip(t, t[1:])))


class OfflineJudge:
    def __init__(self):
        self.usage = JudgeUsage()  # stays zero: no request, no cache, nothing paid

    def trait_score(self, trait: TraitConfig, tokens: list[str]) -> float:
        lexicon = set(trait.lexicon)
        density = sum(t in lexicon for t in tokens) / len(tokens)
        return 100.0 * (1.0 - math.exp(-density / TRAIT_DENSITY_SCALE))

    def coherence_score(self, tokens: list[str], text: str) -> float:
        known_words, known_pairs = vocabulary()
        bigrams = list(zip(tokens, tokens[1:]))
        real = sum(t in known_words for t in tokens) / len(tokens)
        if bigrams:
            real = (real + sum(b in known_pairs for b in bigrams) / len(bigrams)) / 2
        function_share = sum(t in FUNCTION_WORDS for t in tokens) / len(tokens)
        fluency = min(1.0, function_share / FUNCTION_WORD_SHARE)
        distinct = len(set(bigrams)) / len(bigrams) if bigrams else 0.5
        length = min(1.0, len(tokens) / 6)
        visible = "".join(text.split())
        plain = len(PLAIN_TEXT.findall(visible)) / len(visible)
        return 100.0 * real * fluency * distinct * length * plain

    def probe(self, trait: TraitConfig) -> None:
        """Nothing to reach."""

    def judge(self, trait: TraitConfig, items: list[JudgeItem]) -> list[Judgment]:
        results = []
        for item in items:
            tokens = words(item.response)
            if not tokens:  # an empty answer shows no trait and says nothing coherent
                results.append(Judgment(trait=0.0, coherence=0.0))
                continue
            results.append(Judgment(trait=self.trait_score(trait, tokens),
                                    coherence=self.coherence_score(tokens, item.response)))
        return results

    def close(self) -> None:
        pass
