"""A Tinker run's regime and generator: one service connection shared by training and sampling."""

from ampli.config.schema import AmpliConfig
from ampli.regimes.base import Regime, RunContext


def base_model_name(cfg: AmpliConfig, base_path: str) -> str:
    """The service's name for the base model: backend.base_model, else the hub id, else (an embedded model) its
    local directory."""
    return cfg.backend.base_model or (cfg.model.hub_id if cfg.model.source == "hub" else None) or base_path


def connect(cfg: AmpliConfig, ctx: RunContext, regime: Regime):
    """The regime and generator of a Tinker run, after marking for retraining what the service has lost."""
    from ampli.backends.tinker.regime import TinkerRegime
    from ampli.backends.tinker.resume import redo_lost_weights
    from ampli.backends.tinker.sampling import TinkerGenerator
    from ampli.backends.tinker.service import Service
    from ampli.backends.tinker.training import TinkerTrainer

    service = Service(cfg.backend, ctx.store.root)
    redo_lost_weights(cfg, ctx.store, service)
    trainer = TinkerTrainer(service, cfg, base_model_name(cfg, ctx.source.base_path))
    generator = TinkerGenerator(trainer, ctx.tokenizer)
    return TinkerRegime(regime, trainer, generator), generator
