"""The one verdict on a run, and the one count over runs: every table, the paper table, the sweep summary, the
report's headline and `ampli replicate` call these, so they cannot disagree.

A verdict is taken from the run's trait scores by the detector (ampli/judges/detector.py) under a named rule. A run is
pending, never "not amplified", while the rule cannot decide yet: no scored cycle at or past the rule's first
cycle, or (not amplified so far) the run has not finished and later cycles may still amplify.

    Δ trait     the last scored cycle minus cycle 0, per run; over runs, the mean of those differences
    last trait  the last scored cycle's trait score
    k of N      k amplified of the N decided runs; pending runs are counted apart ("2/3 (+1 pending)")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ampli.judges.detector import DetectorConfig, detect
from ampli.record.store import read_json, write_json

RULES = ("threshold", "last_minus_first", "slope", "prefix_slope")
# Statuses a run ends in; "budget" and "running" runs go on when relaunched.
FINISHED = ("completed", "diverged", "collapsed")


@dataclass(frozen=True)
class Rule:
    """Which detector rule decides, with the detector's settings."""

    name: str = "threshold"
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise ValueError(f"rule={self.name!r} is not a detector rule; valid rules: {', '.join(RULES)}")

    def describe(self) -> str:
        """The rule in words, with its numbers."""
        d = self.detector
        return {
            "threshold": f"any cycle >= {d.min_cycle} scores >= cycle 0 + {d.threshold:g}",
            "last_minus_first": f"last cycle - cycle 0 >= {d.last_minus_first:g} (from cycle {d.min_cycle})",
            "slope": f"least-squares slope >= {d.slope_per_cycle:g} a cycle (from cycle {d.min_cycle})",
            "prefix_slope": f"mean prefix slope >= {d.slope_per_cycle:g} a cycle (from cycle {d.min_cycle})",
        }[self.name]

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.name, "detector": asdict(self.detector), "text": self.describe()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        return cls(data["rule"], DetectorConfig(**data["detector"]))

    def first_decisive_cycle(self) -> int:
        """The first cycle whose score lets the rule decide: a run needs more cycles than this for a verdict."""
        return self.detector.min_cycle


PRIMARY = Rule()


@dataclass(frozen=True)
class Verdict:
    """A run's verdict under one rule: amplified is True, False, or None while pending."""

    rule: str
    amplified: bool | None
    first_trait: float | None  # cycle 0
    last_trait: float | None  # the last scored cycle
    delta_trait: float | None  # last_trait - first_trait

    @property
    def pending(self) -> bool:
        return self.amplified is None

    def text(self) -> str:
        return "pending" if self.pending else "amplified" if self.amplified else "not amplified"


def first_last(cycles: Iterable[Mapping[str, Any]], key: str) -> tuple[float | None, float | None]:
    """(cycle 0's value, the last scored cycle's value) of a metric; None where there is none."""
    cycles = list(cycles)
    first = cycles[0].get(key) if cycles and cycles[0].get("cycle", 0) == 0 else None
    scored = [c[key] for c in cycles if c.get(key) is not None]
    return first, (scored[-1] if scored else None)


def run_verdict(run: Mapping[str, Any], rule: Rule = PRIMARY) -> Verdict:
    """The verdict on one run (its metrics.json as loaded by the report) under `rule`."""
    cycles = run.get("cycles") or []
    result = detect([c.get("trait") for c in cycles], rule.detector)
    first, last = first_last(cycles, "trait")
    amplified: bool | None = bool(result["rules"].get(rule.name)) if result["decided"] else None
    if amplified is False and run.get("status") not in FINISHED:
        amplified = None  # a run still going may amplify in a later cycle
    delta = last - first if first is not None and last is not None else None
    return Verdict(rule.name, amplified, first, last, delta)


@dataclass(frozen=True)
class Tally:
    """k of N: amplified of the decided runs, the pending ones apart."""

    amplified: int
    decided: int
    pending: int

    def text(self, unit: str = "") -> str:
        """"k/N", with a unit ("seeds") after it and the pending runs in brackets: "2/2 seeds (+1 pending)"."""
        return (f"{self.amplified}/{self.decided}" + (f" {unit}" if unit else "")
                + (f" (+{self.pending} pending)" if self.pending else ""))

    @property
    def rate(self) -> float | None:
        return self.amplified / self.decided if self.decided else None


def tally(amplified: Iterable[bool | None]) -> Tally:
    """The count over runs' Verdict.amplified values (None: pending)."""
    flags = list(amplified)
    decided = [flag for flag in flags if flag is not None]
    return Tally(sum(map(bool, decided)), len(decided), len(flags) - len(decided))


# `ampli replicate` writes the rule that flagged a run into the run's directory, so its replications are judged by
# the same rule and the report can say which one it was.
FLAGGED_FILE = "flagged_by.json"


def record_flag(run_dir: Path, rule: Rule) -> None:
    write_json(Path(run_dir) / FLAGGED_FILE, rule.to_json())


def flagging_rule(run_dir: Path) -> Rule | None:
    """The rule `ampli replicate` flagged the run by; None for a run it never flagged."""
    path = Path(run_dir) / FLAGGED_FILE
    return Rule.from_json(read_json(path)) if path.is_file() else None
