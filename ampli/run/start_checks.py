"""What a run checks before it loads a model or makes its run directory (after ampli.config.schema.validate): the
device, the judge for the model, the probe, the backend and its engine, every data file. Every check runs, and all the
problems found are told at once: fixing them one start at a time would cost a researcher one round each."""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ampli.backends.choice import check_backend, local_device
from ampli.config.schema import AmpliConfig, ConfigError, check_judge_for_model, lexicon_on_real_model
from ampli.inputs import corpus
from ampli.regimes import get_regime
from ampli.regimes.base import check_data
from ampli.run.errors import USER_ERRORS
from ampli.run.probe.config import check_probe

log = logging.getLogger("ampli")


class StartProblems(ConfigError):
    """Several independent problems, found before any work and told together in one line."""


def all_of(checks: Sequence[Callable[[], Any]]) -> list:
    """Each check's result; when any fails, its error (one), or every problem together (several)."""
    results, problems = [], []
    for check in checks:
        try:
            results.append(check())
        except USER_ERRORS as problem:
            results.append(None)
            problems.append(problem)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise StartProblems(f"{len(problems)} problems, each to fix before the run can start: "
                            + " | ".join(f"({i}) {p}" for i, p in enumerate(problems, 1)))
    return results


def regime_and_data(cfg: AmpliConfig):
    """The regime and the run's data, every file it will draw from read once (missing, empty, malformed, too small)."""
    data = corpus.RunData(cfg)
    regime = get_regime(cfg.regime.name)
    check_data(regime, data)
    return regime, data


def start_checks(cfg: AmpliConfig) -> tuple[str, Any, corpus.RunData]:
    """(the device this process computes on, the regime, the run's data), or every problem found."""
    if lexicon_on_real_model(cfg) and cfg.judge.allow_lexicon_on_real_model:
        log.warning("judge=offline on model=%s: trait and coherence are lexicon word counts, not an LLM's judgment "
                    "(judge.allow_lexicon_on_real_model=true); metrics.json records it", cfg.model.name)
    device, _, _, _, (regime, data) = all_of([
        lambda: local_device(cfg),
        lambda: check_judge_for_model(cfg),
        lambda: check_probe(cfg.probe, cfg.backend.name),
        lambda: check_backend(cfg),
        lambda: regime_and_data(cfg),
    ])
    return device, regime, data
