"""Resuming a Tinker run whose saved weights the service has since deleted (saved weights expire after some days).

The run's remaining stages need only a few models: the last trained one (it samples the next cycle, is its DPO
reference or distillation teacher, and continual training starts from its state) and the one before it (DPO's
rejected answers with rejected_source=previous). For each of those whose weights are gone, its training stage is
marked undone so the loop trains it again on its recorded samples; a continual (or distillation) model that must
be retrained needs its own predecessor in turn. Completed evaluations, samples and judgments are kept: they
describe the weights that existed when they were made.
"""

import logging

from ampli.backends.tinker.service import Service
from ampli.config.schema import AmpliConfig
from ampli.models.training_plan import starts_from_base
from ampli.record.store import RunStore

log = logging.getLogger("ampli")


def train_stage(cycle: int) -> str:
    return f"cycle_{cycle:03d}/train"


def models_still_needed(cfg: AmpliConfig, store: RunStore) -> list[int]:
    """Trained cycles whose weights the run's remaining stages read; none once the last cycle is evaluated."""
    trained = [c for c in range(cfg.loop.cycles) if store.is_done(train_stage(c))]
    if not trained:
        return []
    last = trained[-1]
    if last == cfg.loop.cycles - 1 and store.is_done(f"cycle_{last:03d}/eval"):
        return []
    previous = cfg.regime.name == "dpo" and cfg.regime.rejected_source == "previous" and last > 0
    return [last - 1, last] if previous else [last]


def needs_predecessor(cfg: AmpliConfig, cycle: int) -> bool:
    """Whether retraining `cycle` reads model cycle-1: a continual cycle starts from it (ampli.models.training_plan
    decides which do), distillation learns it."""
    return cycle > 0 and (not starts_from_base(cfg, cycle) or cfg.regime.name == "distill")


def redo_lost_weights(cfg: AmpliConfig, store: RunStore, service: Service) -> list[int]:
    """Mark the training of every needed model whose weights are gone as undone; returns those cycles."""
    lost: list[int] = []
    todo = models_still_needed(cfg, store)
    while todo:
        cycle = todo.pop()
        if cycle in lost:
            continue
        recorded = service.weights(cycle)
        paths = [recorded["sampler"], recorded["state"]] if recorded else []
        if recorded and all(service.exists(p) for p in paths):
            continue
        log.warning("cycle %d's weights are gone from the service (%s); training cycle %d again on its recorded "
                    "samples (its completed eval is kept)", cycle, ", ".join(paths) or "never recorded", cycle)
        service.forget_weights(cycle)
        store.mark_undone(train_stage(cycle))
        lost.append(cycle)
        if needs_predecessor(cfg, cycle):
            todo.append(cycle - 1)
    return sorted(lost)
