"""Which of a cycle's records its model trains on: the authors' protocol knobs between judging and training.

- Empty or whitespace-only samples are dropped: training on them teaches the next model to say nothing.
- loop.coherence_filter (from cycle 1): keep the samples judged coherent enough, then the cycle's size of them;
  the cycle drew `oversample` times that size so that the filter does not shrink it (ampli.inputs.sampling.draw_size).
- loop.original_mix (from cycle 1): that many seed-set records, drawn afresh (seeded) for every cycle.

generations.jsonl keeps every record either way; train.json says how many were dropped and mixed in.
"""

import logging
import random

log = logging.getLogger("ampli")


class NothingToTrainError(RuntimeError):
    """Every sample of a cycle was dropped: the model has collapsed (e.g. it only answers with silence)."""


def is_blank(text: str) -> bool:
    return not text.strip()


def select(records: list[dict], judgments: list[dict | None] | None, samples: list[str], *,
           coherence_min: float | None = None, size: int | None = None) -> tuple[list[dict], dict]:
    """The records to train on, in order, and how many were dropped for each reason.

    `samples` are the model-written texts of the records (what the judge scored); `judgments` each record's scores
    (None: not judged, see ampli.judges.judge_samples), read only by the coherence filter; `size` caps what the filter
    keeps (the cycle drew more to filter from).
    """
    kept, blank, incoherent = [], 0, 0
    for record, judgment, sample in zip(records, judgments or [None] * len(records), samples, strict=True):
        if is_blank(sample):
            blank += 1
        elif coherence_min is not None and not is_coherent(record, judgment, coherence_min):
            incoherent += 1
        else:
            kept.append(record)
    counts = {"n_dropped_empty": blank}
    if coherence_min is not None:
        counts["n_below_coherence"] = incoherent
        if size is not None and len(kept) < size:
            log.warning("only %d of %d samples have coherence >= %g, fewer than the cycle's %d; raise "
                        "loop.coherence_filter.oversample to keep the cycle's size", len(kept), len(records),
                        coherence_min, size)
        kept = kept[:size]
    return kept, counts


def is_coherent(record: dict, judgment: dict | None, coherence_min: float) -> bool:
    if judgment is None:
        raise ValueError(f"record {record['id']!r} was not judged, but the coherence filter needs its coherence")
    return judgment["coherence"] is not None and judgment["coherence"] >= coherence_min


def original_mix(seed_records: list[dict], n: int, seed: int) -> list[dict]:
    """n seed-set records for one later cycle, drawn without replacement."""
    return random.Random(seed).sample(seed_records, n)
