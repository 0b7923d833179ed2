"""Which of a cycle's training samples the judge scores (loop.judge_samples).

Training reads the samples' scores only through the coherence filter (loop.coherence_filter.min, from cycle 1);
otherwise they are a measurement: the samples' trait per cycle (gen_trait, the mean over the gen_n judged ones).
A cycle judges
    all    every sample (the default);
    none   none: its judgments.jsonl is empty, and gen_trait is null (never 0);
    N      a random N of them (all when it has fewer), drawn from the run seed and the cycle, so a resume or a
           rerun judges the same ones;
and a cycle whose training the coherence filter selects judges all of its samples whatever the setting says: a
warning at start, and the cycle's stats.json records it.
"""

import logging
import random

from ampli.config.schema import AmpliConfig, judge_samples_count

log = logging.getLogger("ampli")


def filter_reads_scores(cfg: AmpliConfig, cycle: int) -> bool:
    """Whether the cycle's training reads its samples' scores: the coherence filter, from cycle 1."""
    return cycle > 0 and cfg.loop.coherence_filter.min is not None


def forced_all(cfg: AmpliConfig) -> bool:
    """The setting asks for fewer than all, but the coherence filter needs every generated sample's score."""
    return cfg.loop.coherence_filter.min is not None and judge_samples_count(cfg.loop.judge_samples) is not None


def warn_if_forced(cfg: AmpliConfig) -> None:
    if forced_all(cfg):
        log.warning("loop.judge_samples=%s applies to cycle 0 only: loop.coherence_filter.min=%g trains on the samples "
                    "judged coherent enough, so every later cycle judges all of its samples",
                    cfg.loop.judge_samples, cfg.loop.coherence_filter.min)


def chosen(cfg: AmpliConfig, cycle: int, n_records: int, seed: int) -> tuple[list[int], dict]:
    """The positions of the cycle's records the judge scores, in order, and what stats.json records of the choice."""
    filtered = filter_reads_scores(cfg, cycle)
    count = None if filtered else judge_samples_count(cfg.loop.judge_samples)
    if count is None:
        positions = list(range(n_records))
    else:
        positions = sorted(random.Random(seed).sample(range(n_records), min(count, n_records)))
    record = {"setting": str(cfg.loop.judge_samples), "judged": len(positions), "of": n_records}
    if filtered and forced_all(cfg):
        record["forced_all_by"] = f"loop.coherence_filter.min={cfg.loop.coherence_filter.min:g}"
    return positions, record


def aligned(records: list[dict], judgments: list[dict]) -> list[dict | None]:
    """Each record's judgment, None for a record that was not judged."""
    by_id = {j["id"]: j for j in judgments}
    return [by_id.get(r["id"]) for r in records]
