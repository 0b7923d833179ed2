"""Which of a cycle's records its model trains on (ampli.inputs.training_set), on hand-made records: no model, fast."""

import logging

import pytest

from ampli.inputs.training_set import original_mix, select


def rows(n: int) -> list[dict]:
    return [{"id": f"r{i}"} for i in range(n)]


def judged(*coherence: float | None) -> list[dict]:
    return [{"trait": 50.0, "coherence": c} for c in coherence]


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def test_blank_samples_are_dropped_and_counted():
    kept, counts = select(rows(4), judged(50, 50, 50, 50), ["a", " \n\t", "", "b"])
    assert ids(kept) == ["r0", "r3"] and counts == {"n_dropped_empty": 2}


def test_without_the_filter_an_unscored_coherence_is_kept():
    kept, counts = select(rows(2), judged(None, 5.0), ["a", "b"])
    assert ids(kept) == ["r0", "r1"] and counts == {"n_dropped_empty": 0}


def test_the_coherence_filter_keeps_the_first_coherent_samples_up_to_the_cycles_size(caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    kept, counts = select(rows(6), judged(30.0, 29.9, None, 80.0, 31.0, 90.0), ["a", "b", "c", "d", " ", "f"],
                          coherence_min=30.0, size=2)
    assert ids(kept) == ["r0", "r3"]  # exactly at the threshold passes; unscored and below it do not
    assert counts == {"n_dropped_empty": 1, "n_below_coherence": 2}
    assert ids(select(rows(3), judged(40, 50, 60), list("abc"), coherence_min=50.0, size=2)[0]) == ["r1", "r2"]
    assert caplog.records == []  # as many as the cycle's size (or more) is enough
    assert ids(select(rows(3), judged(40, 50, 60), list("abc"), coherence_min=45.0)[0]) == ["r1", "r2"]


def test_too_few_coherent_samples_are_all_kept_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="ampli")
    kept, counts = select(rows(3), judged(10.0, 90.0, 50.0), list("abc"), coherence_min=50.0, size=3)
    assert ids(kept) == ["r1", "r2"] and counts["n_below_coherence"] == 1
    assert [r.getMessage() for r in caplog.records] == [
        "only 2 of 3 samples have coherence >= 50, fewer than the cycle's 3; raise "
        "loop.coherence_filter.oversample to keep the cycle's size"]


def test_the_coherence_filter_refuses_a_sample_that_was_not_judged_naming_it():
    """The filter must read every sample's coherence: an unjudged one is a bug upstream, not a sample to drop."""
    with pytest.raises(ValueError, match=r"^record 'r1' was not judged, but the coherence filter needs its coherence$"):
        select(rows(2), [*judged(80.0), None], ["a", "b"], coherence_min=50.0)
    kept, _ = select(rows(2), [*judged(80.0), None], ["a", " "], coherence_min=50.0)  # blank: dropped before
    assert ids(kept) == ["r0"]


def test_records_judgments_and_samples_must_line_up():
    with pytest.raises(ValueError):
        select(rows(2), judged(50.0), ["a", "b"])


def test_original_mix_draws_distinct_seed_records_reproducibly_and_afresh_for_another_seed():
    seeds = rows(16)
    mix = original_mix(seeds, 8, seed=1)
    assert len(set(ids(mix))) == 8 and all(r in seeds for r in mix)
    assert original_mix(seeds, 8, seed=1) == mix
    assert ids(original_mix(seeds, 8, seed=2)) != ids(mix) and ids(mix) != ids(seeds[:8])
    assert original_mix(seeds, 0, seed=1) == [] and len(original_mix(seeds, 16, seed=3)) == 16
