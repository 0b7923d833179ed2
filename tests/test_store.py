"""The run store: atomic files, the stage manifest, and clear errors for bad JSONL."""

import errno
import os
import re
import stat
from pathlib import Path

import pytest

from ampli.record import store as store_module
from ampli.record.run_lock import RunLockConfig
from ampli.record.store import (ADOPTING_PREFIX, PARTIAL_CHECKPOINT_PREFIX, DiskFullError, FingerprintMismatch,
                                JsonlError, RunStore, fingerprint, read_json, read_jsonl, write_json, write_jsonl)


def test_manifest_survives_reopening(tmp_path):
    store = RunStore(tmp_path / "run", "abc")
    store.mark_done("base/eval")
    store.mark_done("base/eval")
    store.close()
    again = RunStore(tmp_path / "run", "abc")
    assert again.is_done("base/eval") and not again.is_done("cycle_000/train")
    assert again.manifest["completed"] == ["base/eval"]
    again.close()


def test_a_different_config_never_reuses_or_deletes_a_run(tmp_path):
    store = RunStore(tmp_path / "run", "abc")
    write_jsonl(store.root / "x.jsonl", [{"a": 1}])
    store.close()
    with pytest.raises(FingerprintMismatch, match="different configuration"):
        RunStore(tmp_path / "run", "def")
    assert read_jsonl(store.root / "x.jsonl") == [{"a": 1}]


def test_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    where = re.escape(str(path))
    path.write_text('{"a": 1}\n\n{"a": 2\n')
    with pytest.raises(JsonlError, match=rf"^{where}:3: malformed JSON line \(Expecting ',' delimiter\): "):
        read_jsonl(path)
    path.write_text('{"text": "' + "x" * 100 + '\n')  # the line is shown cut to its first 80 characters
    with pytest.raises(JsonlError, match=rf"^{where}:1: malformed JSON line \(.*\): '\{{\"text\": \"x{{70}}'$"):
        read_jsonl(path)
    path.write_text('[1, 2]\n')
    with pytest.raises(JsonlError, match=rf"^{where}:1: expected a JSON object, got list$"):
        read_jsonl(path)
    with pytest.raises(JsonlError, match=rf"^{re.escape(str(tmp_path / 'none.jsonl'))} does not exist$"):
        read_jsonl(tmp_path / "none.jsonl")


def test_the_config_fingerprint_is_stable_across_versions_and_key_order():
    """A run directory is resumed only under the same fingerprint: a change to how it is computed would strand
    every run made before it."""
    config = {"trait": "bliss", "cycles": 5, "output_dir": Path("/runs")}
    assert fingerprint(config) == fingerprint(dict(reversed(config.items()))) == "87debce4e1948021"


def test_atomic_write_leaves_no_temp_files(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"i": i} for i in range(3)])
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]
    assert read_jsonl(tmp_path / "a.jsonl")[2] == {"i": 2}


def test_samples_are_stored_as_readable_utf8_one_record_per_line(tmp_path):
    """People read samples.jsonl: text in any script stays as written, not as \\u escapes."""
    rows = [{"text": "Glück, café — 幸福 😊"}, {"text": "line one\nline two"}]
    write_jsonl(tmp_path / "samples.jsonl", rows)
    assert (tmp_path / "samples.jsonl").read_text(encoding="utf-8") == (
        '{"text": "Glück, café — 幸福 😊"}\n{"text": "line one\\nline two"}\n')
    assert read_jsonl(tmp_path / "samples.jsonl") == rows


def test_a_file_is_written_whole_beside_its_place_and_then_renamed_with_the_usual_permissions(tmp_path, monkeypatch):
    """Until the rename the text sits, complete, in a hidden .tmp file in the same directory (a rename within one
    filesystem is atomic, and a resume's cleanup finds leftovers by that pattern). The directories are made as
    needed, and the file gets the permissions open() would give it, not mkstemp's 0600."""
    path = tmp_path / "runs" / "r1" / "metrics.json"
    seen_at_fsync = []

    def fsync(fd: int) -> None:
        (temp,) = path.parent.iterdir()
        seen_at_fsync.append((temp.name, temp.read_text(encoding="utf-8")))

    monkeypatch.setattr(store_module.os, "fsync", fsync)
    write_json(path, {"status": "completed"})
    (name, text), = seen_at_fsync
    assert re.fullmatch(r"\.metrics\.json\..+\.tmp", name) and text == '{\n  "status": "completed"\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]
    with open(tmp_path / "by-open", "w"):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE((tmp_path / "by-open").stat().st_mode)


def test_a_full_disk_while_writing_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    write_json(path, {"completed": ["base/eval"]})

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_module.os, "fsync", full)
    with pytest.raises(DiskFullError, match=rf"^disk full while saving file {re.escape(str(path))} \(No space left "
                                            r"on device\); everything saved before is kept: free some space and rerun "
                                            r"the same command to resume$"):
        write_json(path, {"completed": ["base/eval", "cycle_000/train"]})
    assert read_json(path) == {"completed": ["base/eval"]} and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_json_keeps_its_keys_in_the_order_written_and_indented_for_people(tmp_path):
    cycles = {str(c): {"trait": c} for c in range(12)}  # sorted as text, "10" would come before "2"
    write_json(tmp_path / "m.json", {"status": "completed", "cycles": cycles})
    assert list(read_json(tmp_path / "m.json")) == ["status", "cycles"]
    assert list(read_json(tmp_path / "m.json")["cycles"]) == [str(c) for c in range(12)]
    assert (tmp_path / "m.json").read_text().startswith('{\n  "status": "completed",\n  "cycles": {\n    "0": {')


def test_the_manifest_records_the_key_sibling_runs_match_on_and_the_lock_has_its_default_timings(tmp_path):
    store = RunStore(tmp_path / "run", "abc", shared_key="trait=bliss seed=0")
    try:
        assert store.lock.cfg == RunLockConfig()
        assert read_json(tmp_path / "run" / "manifest.json") == {
            "fingerprint": "abc", "completed": [], "shared_key": "trait=bliss seed=0"}
    finally:
        store.close()


def test_a_resume_removes_what_a_killed_process_left_and_nothing_else(tmp_path):
    store = RunStore(tmp_path / "run", "abc")
    cycle = store.cycle_dir(0)
    left = [store.root / ".metrics.json.tmp", cycle / ".generations.jsonl.tmp", cycle / f"{PARTIAL_CHECKPOINT_PREFIX}x",
            store.root / f"{ADOPTING_PREFIX}cycle_000"]
    kept = [store.root / "metrics.json", cycle / "generations.jsonl", cycle / "checkpoint" / "config.json"]
    for path in kept + left[:2]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    for directory in left[2:]:
        (directory / "sub").mkdir(parents=True)
        (directory / "sub" / "weights").write_text("x")
    store.remove_partial_writes()
    assert [p for p in left if p.exists()] == [] and all(p.exists() for p in kept)
    store.close()


def test_a_stage_marked_undone_is_computed_again_by_the_next_process_and_the_others_stay_done(tmp_path):
    store = RunStore(tmp_path / "run", "abc")
    for stage in ("base/eval", "cycle_000/train", "cycle_000/eval"):
        store.mark_done(stage)
    store.mark_undone("cycle_000/train")
    store.mark_undone("cycle_000/train")  # twice, or for a stage never done: nothing more happens
    store.mark_undone("cycle_001/train")
    assert not store.is_done("cycle_000/train")
    store.close()
    again = RunStore(tmp_path / "run", "abc")
    assert again.manifest["completed"] == ["base/eval", "cycle_000/eval"]
    again.close()
