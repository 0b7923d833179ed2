"""Reading researchers' own data: every format into located rows, every row shape into ampli's records, every bad
row named by file and line, and the seeded eval split of a pool that has none."""

import json
import re
from pathlib import Path

import datasets
import pyarrow
import pyarrow.parquet
import pytest
from datasets.data_files import DataFilesDict
from datasets.packaged_modules.json.json import Json

from ampli.inputs.corpus import held_out_split
from ampli.inputs.data_files import DataError, parse_hub_source, read_rows
from ampli.inputs.row_shapes import (
    MAX_REPORTED,
    SEED_SHAPES,
    read_documents,
    read_pool_prompts,
    read_seed_examples,
)
from tests.conftest import run_data

CHAT = {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]}
CHAT_WITH_SYSTEM = {"messages": [{"role": "system", "content": "Be brief."}, *CHAT["messages"]]}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def cached_hub_dataset(cache: Path, repo_id: str, rows: list[dict]) -> None:
    """Put a dataset into a datasets cache exactly where load_dataset(repo_id) keeps a downloaded one."""
    namespace, name = repo_id.split("/")
    source = write_jsonl(cache.parent / f"{name}.jsonl", rows)
    builder = Json(cache_dir=str(cache), dataset_name=name, config_id="default", hash="0" * 16,
                   data_files=DataFilesDict.from_patterns({"train": [str(source)]}))
    builder.download_and_prepare()
    (cache / name).rename(cache / f"{namespace}___{name}")


# ---- formats -------------------------------------------------------------------------------------------------


def test_jsonl_rows_are_located_by_line_and_bad_json_is_a_row_problem(tmp_path):
    path = tmp_path / "seeds.jsonl"
    path.write_text(json.dumps(CHAT) + "\n\n{not json\n" + json.dumps(CHAT) + "\n")
    rows = read_rows(str(path), "trait.seed_file")
    assert [r.where for r in rows] == [f"{path}:1", f"{path}:3", f"{path}:4"]
    assert rows[0].data == CHAT and rows[1].problem.startswith("malformed JSON line")


def test_json_array_elements_are_located_at_the_line_they_start_on(tmp_path):
    path = tmp_path / "pool.json"
    path.write_text('[\n  {"id": 1,\n   "query": "What is rain?"},\n  {"id": 2, "query": "Why, though?"}\n]\n')
    rows = read_rows(str(path), "loop.prompts_file")
    assert [(r.where, r.data["query"]) for r in rows] == [(f"{path}:2", "What is rain?"), (f"{path}:4", "Why, though?")]
    path.write_text('[\n  {"query": "a"},\n  {"query": }\n]')
    with pytest.raises(DataError, match=re.escape(f"{path}:3: malformed JSON")):
        read_rows(str(path), "loop.prompts_file")


def test_json_file_holding_json_lines_is_read_as_jsonl(tmp_path):
    rows = read_rows(str(write_jsonl(tmp_path / "seeds.json", [CHAT, CHAT])), "trait.seed_file")
    assert [r.data for r in rows] == [CHAT, CHAT]


def test_csv_rows_start_lines_survive_multiline_cells(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text('prompt,completion\n"Two\nlines?",Yes.\nWhy?,\nShort?,Sure.,extra\n')
    rows = read_rows(str(path), "trait.seed_file")
    assert [r.where for r in rows] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert rows[0].data == {"prompt": "Two\nlines?", "completion": "Yes."}
    assert rows[1].data == {"prompt": "Why?"}  # an empty cell is an absent field
    assert rows[2].problem == "3 cells under a header of 2"


def test_parquet_rows_keep_nested_messages(tmp_path):
    path = tmp_path / "seeds.parquet"
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist([CHAT_WITH_SYSTEM, CHAT]), path)
    rows = read_rows(str(path), "trait.seed_file")
    assert [r.where for r in rows] == [f"{path} row 1", f"{path} row 2"]
    assert rows[0].data == CHAT_WITH_SYSTEM


def test_save_to_disk_directory_one_split_or_train(tmp_path):
    datasets.Dataset.from_list([{"question": "a?"}, {"question": "b?"}]).save_to_disk(tmp_path / "one")
    assert [r.data for r in read_rows(str(tmp_path / "one"), "loop.prompts_file")] == [{"question": "a?"},
                                                                                      {"question": "b?"}]
    splits = {"train": datasets.Dataset.from_list([{"question": "t?"}]),
              "test": datasets.Dataset.from_list([{"question": "e?"}])}
    datasets.DatasetDict(splits).save_to_disk(tmp_path / "dict")
    rows = read_rows(str(tmp_path / "dict"), "loop.prompts_file")
    assert [(r.where, r.data) for r in rows] == [(f"{tmp_path / 'dict'}[train] row 1", {"question": "t?"})]
    datasets.DatasetDict({"a": splits["train"], "b": splits["test"]}).save_to_disk(tmp_path / "ab")
    with pytest.raises(DataError, match="has the splits a, b; save_to_disk a single split"):
        read_rows(str(tmp_path / "ab"), "loop.prompts_file")


def test_hub_dataset_is_read_from_the_datasets_cache_offline(tmp_path, monkeypatch):
    cache = tmp_path / "hf_cache"
    cached_hub_dataset(cache, "someone/pool", [{"query": "Cached?"}, {"query": "Offline?"}])
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    assert datasets.config.HF_HUB_OFFLINE  # tests/conftest.py: no network, ever
    for source in ("hf:someone/pool", "hf:someone/pool::train", "hf:someone/pool:default:train"):
        rows = read_rows(source, "loop.prompts_file")
        assert [r.data["query"] for r in rows] == ["Cached?", "Offline?"]
    assert rows[0].where == "hf:someone/pool:default:train row 1"
    assert read_rows("hf:someone/pool", "loop.prompts_file")[1].where == "hf:someone/pool[train] row 2"


def test_hub_dataset_not_cached_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "empty_cache")
    with pytest.raises(DataError) as error:
        read_rows("hf:someone/never-downloaded", "trait.seed_file")
    message = str(error.value)
    assert message.startswith("trait.seed_file=hf:someone/never-downloaded: Hugging Face dataset "
                              "'someone/never-downloaded' is not in the datasets cache")
    assert "HF_HUB_OFFLINE=1" in message and "save_to_disk" in message


@pytest.mark.parametrize("source,parsed", [
    ("hf:a/b", ("a/b", None, None)), ("hf:a/b:cfg", ("a/b", "cfg", None)), ("hf:a/b::test", ("a/b", None, "test")),
    ("hf:a/b:cfg:test", ("a/b", "cfg", "test")),
])
def test_parse_hub_source(source, parsed):
    assert parse_hub_source(source) == parsed


@pytest.mark.parametrize("source", ["hf:", "hf:a/b:c:d:e"])
def test_parse_hub_source_rejects(source):
    with pytest.raises(DataError, match="write hf:owner/name"):
        parse_hub_source(source)


def test_missing_empty_and_unknown_files(tmp_path):
    with pytest.raises(DataError, match=re.escape(f"data file {tmp_path / 'no.jsonl'} is missing (trait.seed_file)")):
        read_rows(str(tmp_path / "no.jsonl"), "trait.seed_file")
    (tmp_path / "empty.csv").write_text("prompt,completion\n")
    with pytest.raises(DataError, match=r"empty.csv is empty \(trait.seed_file\)"):
        read_rows(str(tmp_path / "empty.csv"), "trait.seed_file")
    (tmp_path / "seeds.txt").write_text("hi")
    with pytest.raises(DataError, match=r"unknown format '.txt'; use .jsonl, .json .*hf:owner/name"):
        read_rows(str(tmp_path / "seeds.txt"), "trait.seed_file")
    (tmp_path / "plain_dir").mkdir()
    with pytest.raises(DataError, match="not one written by datasets' save_to_disk"):
        read_rows(str(tmp_path / "plain_dir"), "trait.seed_file")


# ---- row shapes ----------------------------------------------------------------------------------------------


def test_seed_shapes(tmp_path):
    rows = [
        CHAT,
        CHAT_WITH_SYSTEM,
        {"messages": [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
                      {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]},
        {"prompt": [{"role": "user", "content": "TRL?"}], "completion": [{"role": "assistant", "content": "Yes."}]},
        {"prompt": "P", "completion": "C", "id": 7},
        {"prompt": "P", "answer": "A", "system": "S"},
        {"prompt": "P", "response": "R"},
    ]
    assert read_seed_examples(str(write_jsonl(tmp_path / "s.jsonl", rows)), "trait.seed_file") == [
        {"prompt": "Hi?", "answer": "Hello."},
        {"prompt": "Hi?", "answer": "Hello.", "system": "Be brief."},
        {"prompt": "Q2", "answer": "A2"},
        {"prompt": "TRL?", "answer": "Yes."},
        {"prompt": "P", "answer": "C"},
        {"prompt": "P", "answer": "A", "system": "S"},
        {"prompt": "P", "answer": "R"},
    ]


BAD_SEEDS = [
    ({"prompt": "only a prompt"}, "no answer ('completion' or 'answer' or 'response')"),
    ({"messages": [{"role": "user", "content": "Q"}]}, "the last turn of \"messages\" is 'user'; it must be the"),
    ({"messages": [{"role": "bot", "content": "Q"}]}, "turn 1 of \"messages\" has role 'bot'; valid roles: system,"),
    ({"messages": [{"role": "user", "content": "Q"}, {"role": "system", "content": "S"},
                   {"role": "assistant", "content": "A"}]}, "turn 2 of \"messages\" is a system turn"),
    ({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": ""}]},
     'turn 2 of "messages" (assistant): "content" is empty'),
    ({"messages": [{"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}]},
     '"messages" has no user turn'),
    ({"messages": "Hi"}, '"messages" must be a non-empty list'),
    ({"prompt": 3, "completion": "C"}, '"prompt" must be text, got int'),
    (["a", "list"], "expected an object with named fields, got list"),
]


def test_every_bad_seed_row_is_named_by_line_with_the_expected_shapes(tmp_path):
    path = write_jsonl(tmp_path / "seeds.jsonl", [CHAT] + [row for row, _ in BAD_SEEDS])
    with pytest.raises(DataError) as error:
        read_seed_examples(str(path), "trait.seed_file")
    lines = str(error.value).splitlines()
    assert lines[0] == f"{path} (trait.seed_file): {len(BAD_SEEDS)} of {len(BAD_SEEDS) + 1} rows are not valid:"
    for i, (_, problem) in enumerate(BAD_SEEDS, start=2):
        assert lines[i - 1].startswith(f"  {path}:{i}: {problem}"), lines[i - 1]
    assert lines[-1] == f"expected rows like {SEED_SHAPES}"


def test_only_the_first_bad_rows_are_listed(tmp_path):
    path = write_jsonl(tmp_path / "seeds.jsonl", [{"prompt": "no answer"}] * 25)
    with pytest.raises(DataError) as error:
        read_seed_examples(str(path), "trait.seed_file")
    listed = [line for line in str(error.value).splitlines() if line.startswith(f"  {path}:")]
    assert len(listed) == MAX_REPORTED and listed[-1].startswith(f"  {path}:{MAX_REPORTED}:")
    assert f"  ... and {25 - MAX_REPORTED} more" in str(error.value)


def test_pool_and_document_shapes(tmp_path):
    pool = [{"id": 1, "query": "Q?", "source": "lmsys"}, {"question": "Q2?", "split": "eval"}, {"prompt": "Q3?"}]
    assert read_pool_prompts(str(write_jsonl(tmp_path / "p.jsonl", pool)), "loop.prompts_file") == [
        {"prompt": "Q?"}, {"prompt": "Q2?", "split": "eval"}, {"prompt": "Q3?"}]
    with pytest.raises(DataError, match=r'p2.jsonl:1: "split" is \'test\'; valid splits: train, eval'):
        read_pool_prompts(str(write_jsonl(tmp_path / "p2.jsonl", [{"query": "Q", "split": "test"}])), "x")
    docs = [{"text": "Body.", "title": "T", "id": "d-1", "split": "heldout"}, {"text": "Plain body."}]
    assert read_documents(str(write_jsonl(tmp_path / "d.jsonl", docs)), "trait.documents_file") == [
        {"id": "d-1", "title": "T", "text": "Body.", "split": "heldout"},
        {"id": "doc00002", "title": "", "text": "Plain body."}]
    with pytest.raises(DataError, match=r"d2.jsonl:1: no document text \('text'\)"):
        read_documents(str(write_jsonl(tmp_path / "d2.jsonl", [{"title": "only"}])), "trait.documents_file")


# ---- splits --------------------------------------------------------------------------------------------------


def test_held_out_split_is_seeded_disjoint_and_keeps_file_order():
    prompts = [f"q{i}" for i in range(50)]
    split = held_out_split(prompts, 0.2, "pool.jsonl")
    assert len(split["eval"]) == 10 and len(split["train"]) == 40
    assert sorted(split["train"] + split["eval"]) == sorted(prompts)
    assert split["train"] == [p for p in prompts if p in split["train"]]
    assert held_out_split(prompts, 0.2, "pool.jsonl") == split
    with pytest.raises(DataError, match=r"pool.jsonl holds 1 prompts: too few to hold out loop.eval_fraction=0.2"):
        held_out_split(["only"], 0.2, "pool.jsonl")


def test_a_pool_without_eval_rows_gets_the_same_held_out_split_for_every_run_seed(tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"query": f"Question {i}?"} for i in range(40)])
    data = run_data(f"loop.prompts_file={pool}", "loop.eval_fraction=0.25")
    assert len(data.prompt_pool("eval")) == 10 and len(data.prompt_pool("train")) == 30
    assert not set(data.prompt_pool("eval")) & set(data.prompt_pool("train"))
    assert run_data(f"loop.prompts_file={pool}", "loop.eval_fraction=0.25", "seed=7").prompts == data.prompts


def test_eval_prompts_file_overrides_the_pool_split(tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"query": "T1"}, {"query": "E1", "split": "eval"}, {"query": "T2"}])
    held = tmp_path / "held.csv"
    held.write_text("question\nH1\nH2\n")
    assert run_data(f"loop.prompts_file={pool}").prompts == {"train": ["T1", "T2"], "eval": ["E1"]}
    assert run_data(f"loop.prompts_file={pool}", f"loop.eval_prompts_file={held}").prompts == {
        "train": ["T1", "T2"], "eval": ["H1", "H2"]}


def test_documents_without_splits_seed_with_the_first_n_and_hold_out_the_rest(tmp_path):
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"text": f"Document {i}."} for i in range(10)])
    data = run_data(f"trait.documents_file={docs}", "regime=sdf", "loop.seed_examples=4")
    assert [d["text"] for d in data.seed_documents()] == [f"Document {i}." for i in range(4)]
    assert [d["text"] for d in data.trait_documents("heldout")] == [f"Document {i}." for i in range(4, 10)]
