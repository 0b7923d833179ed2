"""Turning a judge's answer into a 0-100 score, or into the reason there is none."""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Words a rubric may offer instead of a number (an answer that refuses; one that is code): no score, the word
# (lowercased) is the reason.
OUTS = ("REFUSAL", "CODE")


@dataclass(frozen=True)
class Score:
    value: float | None
    reason: str | None = None
    # False for transport failures (timeouts, 5xx): they say nothing about the output, so a later run asks again.
    cacheable: bool = True


def out_of(text: str | None) -> str | None:
    """The out a judge answered with, also when cut short by max_tokens or read from a first token ("REF"); else
    None."""
    answer = (text or "").strip().strip("*.\"'").upper()
    for out in OUTS:
        if answer.startswith(out) or (len(answer) >= 3 and out.startswith(answer)):
            return out
    return None


def number_of(token: str) -> int | None:
    """The integer 0-100 a token spells (surrounding whitespace allowed), else None; "05" and "1.5" are not numbers."""
    text = token.strip()
    if not (text.isascii() and text.isdigit()) or str(int(text)) != text:
        return None
    value = int(text)
    return value if value <= 100 else None


def weighted_score(top_logprobs: Iterable[tuple[str, float]], min_mass: float) -> Score:
    """Probability-weighted mean over the number tokens among the top first tokens.

    Uses the judge's whole belief rather than its single sampled answer; when too little probability is on numbers
    (refusals, chatter) the mean would rest on noise, so there is no score.
    """
    mass = total = 0.0
    for token, logprob in top_logprobs:
        number = number_of(token)
        if number is not None:
            p = math.exp(logprob)
            mass += p
            total += p * number
    if mass == 0 or mass < min_mass:
        return Score(None, "low_number_mass")
    return Score(total / mass)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A restated scale ("On a scale of 0 to 100: 85", "between 0 and 100") is not the score.
_SCALE = re.compile(r"\b0\s*(?:to|-|–|and)\s*100\b", re.IGNORECASE)


def parse_score(text: str | None) -> Score:
    """The score in a text answer (for judges without logprobs): an out is no score with the out as the reason;
    otherwise the first number that is not part of a restated scale."""
    out = out_of(text)
    if out:
        return Score(None, out.lower())
    match = _NUMBER.search(_SCALE.sub(" ", text or ""))
    if match is None:
        return Score(None, "non_numeric")
    value = float(match[0])
    if not 0 <= value <= 100:
        return Score(None, "out_of_range")
    return Score(value)


def splits_number(first_token: str, text: str | None) -> bool:
    """True when the answer's number took several tokens (digit-by-digit tokenizers such as Qwen's): weighting
    first tokens would then read "85" as 8, so the caller parses the text instead."""
    first = first_token.strip()
    match = re.match(r"\s*(\d+)", text or "")
    return number_of(first) is not None and match is not None and match[1] != first and match[1].startswith(first)
