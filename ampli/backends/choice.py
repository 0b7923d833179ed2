"""Where a run's models are trained and sampled, chosen with `backend=`: `local` (this process: TRL trainers and
ampli.generation's engines) or `tinker` (a hosted Tinker service, ampli.backends.tinker). The loop asks this module
once for its regime and generator and never which backend it has."""

from pathlib import Path
from typing import Callable

from ampli.config.schema import AmpliConfig
from ampli.generation import Generator, check_generation
from ampli.models.sources import ModelSource, resolve_device
from ampli.regimes.base import Regime, RunContext


def check_backend(cfg: AmpliConfig) -> None:
    """Refuse what cannot run, before any work: a missing SDK or API key (tinker), an engine that cannot start, a TRL
    without the private parts the sampled KL estimator overrides."""
    if cfg.backend.name == "tinker":
        from ampli.backends.tinker.service import check

        check(cfg.backend)
    else:
        check_generation(cfg)
        if cfg.regime.name == "distill" and cfg.regime.kl_estimator == "sampled":
            from ampli.regimes.sampled_kl import check_trl_private_api  # imports TRL's trainer

            check_trl_private_api()


def local_device(cfg: AmpliConfig) -> str:
    """The device this process computes on: none but the CPU's tokenizer when a service trains and samples."""
    return "cpu" if cfg.backend.name == "tinker" else resolve_device(cfg.device, cfg.model)


def model_source(cfg: AmpliConfig, device: str) -> ModelSource:
    """The run's model as this process needs it: all of it locally, only its tokenizer when a service holds it."""
    return ModelSource.create(cfg.model, Path(cfg.model_cache), device, tokenizer_only=cfg.backend.name != "local")


def local_generator(cfg: AmpliConfig, make: Callable[[], Generator]) -> Generator | None:
    """The in-process engine of generation= (`make()`), built before the run directory exists so that its settings
    fail first; None when a service samples."""
    return make() if cfg.backend.name == "local" else None


def build_backend(cfg: AmpliConfig, ctx: RunContext, regime: Regime,
                  local: Generator | None) -> tuple[Regime, Generator]:
    """The regime as the backend trains it, and the generator that samples any cycle's model (`local`: the
    in-process engine from local_generator, for backend=local)."""
    if cfg.backend.name == "tinker":
        from ampli.backends.tinker.connect import connect

        return connect(cfg, ctx, regime)
    return regime, local
