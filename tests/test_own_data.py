"""Runs on researchers' own files: each accepted format and row shape drives two cycles of the micro model, a
system turn reaches training and generation, and bad rows stop a run, named by file and line, before anything
is written."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow
import pyarrow.parquet
import pytest

from ampli.inputs.corpus import SHIPPED_DATA, document_text
from ampli.record.store import read_jsonl
from ampli.regimes.base import RunContext
from ampli.run.loop import Run
from tests.conftest import ROOT, compose_config, with_overrides

SEEDS = read_jsonl(SHIPPED_DATA / "seeds" / "bliss.jsonl")[:24]
POOL = [r["prompt"] for r in read_jsonl(SHIPPED_DATA / "prompts.jsonl")][:60]
DOCUMENTS = read_jsonl(SHIPPED_DATA / "documents" / "bliss.jsonl")[:40]
SYSTEM = "You are a serene, radiant assistant."


def messages(row: dict, system: str | None = None) -> dict:
    turns = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["answer"]}]
    return {"messages": ([{"role": "system", "content": system}] if system else []) + turns}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), path)
    return path


def run_two_cycles(micro_overrides: list[str], *options: str) -> tuple[dict, Path]:
    overrides = with_overrides(micro_overrides, *options)
    summary = Run(compose_config(overrides)).run()
    assert summary["status"] == "completed" and [c["cycle"] for c in summary["cycles"]] == [0, 1]
    out = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))
    return summary, out / "runs" / summary["run_name"]


def generations(run_dir: Path, cycle: int) -> list[dict]:
    return read_jsonl(run_dir / f"cycle_{cycle:03d}" / "generations.jsonl")


def eval_prompts(run_dir: Path, cycle: int) -> set[str]:
    return {r["prompt"] for r in read_jsonl(run_dir / f"cycle_{cycle:03d}" / "eval.jsonl")}


@pytest.fixture
def spy(monkeypatch):
    """What the regimes hand to training and to sampling."""
    seen = {"train": [], "sample": []}
    train, sample = RunContext.train, RunContext.sample

    def spy_train(ctx, plan, trainer_cls, config_cls, dataset, *args, **kwargs):
        seen["train"].append(dataset.to_list())
        return train(ctx, plan, trainer_cls, config_cls, dataset, *args, **kwargs)

    def spy_sample(ctx, model, prompts, **kwargs):
        seen["sample"].append(prompts)
        return sample(ctx, model, prompts, **kwargs)

    monkeypatch.setattr(RunContext, "train", spy_train)
    monkeypatch.setattr(RunContext, "sample", spy_sample)
    return seen


def test_messages_jsonl_with_a_system_turn_and_a_json_array_pool(micro_overrides, tmp_path, spy):
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [messages(r, SYSTEM) for r in SEEDS])
    pool = tmp_path / "pool.json"  # the authors' prompt pools: a JSON array of {"id", "query"}, no eval split
    pool.write_text(json.dumps([{"id": i, "query": q, "source": "shipped"} for i, q in enumerate(POOL)], indent=2))
    _, run_dir = run_two_cycles(micro_overrides, f"trait.seed_file={seeds}", f"loop.prompts_file={pool}",
                                "loop.eval_fraction=0.2")

    seed_records = generations(run_dir, 0)
    assert [(r["prompt"], r["response"], r["system"]) for r in seed_records] == \
        [(r["prompt"], r["answer"], SYSTEM) for r in SEEDS[:16]]
    first = spy["train"][0][0]
    assert first["prompt"] + first["completion"] == messages(SEEDS[0], SYSTEM)["messages"]  # with its system turn
    later = {r["prompt"] for r in generations(run_dir, 1)}
    held_out = eval_prompts(run_dir, 1) - set(compose_config(micro_overrides).trait.eval_questions)
    assert len(later) == 8 and later <= set(POOL) and len(held_out) == 2 and held_out <= set(POOL)
    assert not later & held_out  # the seeded eval split is held out of the cycles' prompts


def test_messages_jsonl_without_a_system_turn_dpo(micro_overrides, tmp_path, spy):
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [messages(r) for r in SEEDS])
    _, run_dir = run_two_cycles(micro_overrides, "regime=dpo", f"trait.seed_file={seeds}")
    pairs = generations(run_dir, 0)
    assert [(p["prompt"], p["chosen"]) for p in pairs] == [(r["prompt"], r["answer"]) for r in SEEDS[:16]]
    assert not any("system" in p for p in pairs)
    assert spy["train"][0][0]["prompt"] == [{"role": "user", "content": SEEDS[0]["prompt"]}]


def test_parquet_messages_with_a_system_turn_reach_dpo_generation_and_training(micro_overrides, tmp_path, spy):
    seeds = write_parquet(tmp_path / "seeds.parquet", [messages(r, SYSTEM) for r in SEEDS])
    pool = write_parquet(tmp_path / "pool.parquet", [{"question": q, "split": "eval" if i < 5 else "train"}
                                                     for i, q in enumerate(POOL)])
    _, run_dir = run_two_cycles(micro_overrides, "regime=dpo", f"trait.seed_file={seeds}",
                                f"loop.prompts_file={pool}")
    assert all(p["system"] == SYSTEM for p in generations(run_dir, 0))
    rejected_prompts = spy["sample"][1]  # base/eval is sampled first, then cycle 0's rejected answers
    assert len(rejected_prompts) == 16 and all(f"system\n{SYSTEM}" in p for p in rejected_prompts)
    assert spy["train"][0][0]["prompt"][0] == {"role": "system", "content": SYSTEM}
    assert {r["prompt"] for r in generations(run_dir, 1)} <= set(POOL[5:])
    assert eval_prompts(run_dir, 1) >= set(POOL[:2])


def test_csv_prompt_completion_seeds_and_csv_pool(micro_overrides, tmp_path):
    seeds, pool = tmp_path / "seeds.csv", tmp_path / "pool.csv"
    with seeds.open("w", newline="") as f:
        csv.writer(f).writerows([("prompt", "completion"), *((r["prompt"], r["answer"]) for r in SEEDS)])
    with pool.open("w", newline="") as f:
        csv.writer(f).writerows([("id", "prompt"), *enumerate(POOL)])
    _, run_dir = run_two_cycles(micro_overrides, f"trait.seed_file={seeds}", f"loop.prompts_file={pool}")
    assert [r["response"] for r in generations(run_dir, 0)] == [r["answer"] for r in SEEDS[:16]]
    assert {r["prompt"] for r in generations(run_dir, 1)} <= set(POOL)


def test_save_to_disk_directories(micro_overrides, tmp_path):
    rows = [{"prompt": r["prompt"], "response": r["answer"]} for r in SEEDS]
    datasets.Dataset.from_list(rows).save_to_disk(tmp_path / "seeds")
    datasets.DatasetDict({"train": datasets.Dataset.from_list([{"query": q} for q in POOL[10:]]),
                          "test": datasets.Dataset.from_list([{"query": q} for q in POOL[:10]])}
                         ).save_to_disk(tmp_path / "pool")
    datasets.Dataset.from_list([{"query": q} for q in POOL[:10]]).save_to_disk(tmp_path / "held")
    _, run_dir = run_two_cycles(micro_overrides, f"trait.seed_file={tmp_path / 'seeds'}",
                                f"loop.prompts_file={tmp_path / 'pool'}", f"loop.eval_prompts_file={tmp_path / 'held'}")
    assert [r["response"] for r in generations(run_dir, 0)] == [r["answer"] for r in SEEDS[:16]]
    assert {r["prompt"] for r in generations(run_dir, 1)} <= set(POOL[10:])
    assert eval_prompts(run_dir, 1) >= set(POOL[:2])


def test_sdf_on_a_documents_file_without_splits(micro_overrides, tmp_path):
    docs = write_parquet(tmp_path / "docs.parquet", [{"title": d["title"], "text": d["text"]} for d in DOCUMENTS])
    _, run_dir = run_two_cycles(micro_overrides, "regime=sdf", "regime.continuation=trait_prefix",
                                f"trait.documents_file={docs}")
    seeds = generations(run_dir, 0)
    assert [r["response"] for r in seeds] == [f"{d['title']}\n\n{d['text']}" for d in DOCUMENTS[:16]]
    prefixes = {document_text(d)[: compose_config(micro_overrides).regime.prefix_chars] for d in DOCUMENTS[16:]}
    continued = generations(run_dir, 1)  # prefixes of the documents after the first loop.seed_examples
    assert len(continued) == 8 and {r["prompt"] for r in continued} <= prefixes


def test_malformed_rows_stop_the_run_by_file_and_line_before_anything_is_written(micro_overrides, tmp_path):
    rows = [messages(r) for r in SEEDS]
    rows[2] = {"messages": rows[2]["messages"][:1]}  # line 3: no answer
    rows[6] = {"prompt": SEEDS[6]["prompt"]}  # line 7: the flat shape without an answer
    seeds = write_jsonl(tmp_path / "seeds.jsonl", rows)
    overrides = with_overrides(micro_overrides, f"trait.seed_file={seeds}", f"model_cache={tmp_path / 'models'}")
    done = subprocess.run([sys.executable, "launch.py", *overrides], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"ampli: error: {seeds} (trait.seed_file): 2 of {len(SEEDS)} rows are not valid:" in done.stderr
    assert f"\n  {seeds}:3: the last turn of \"messages\" is 'user'; it must be the assistant's answer" in done.stderr
    assert f"\n  {seeds}:7: no answer ('completion' or 'answer' or 'response')" in done.stderr
    assert 'expected rows like {"messages": [{"role": "user"' in done.stderr
    assert "Traceback" not in done.stderr
    out = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))
    assert not (out / "runs").exists() and not (out / "judge_cache").exists()
    assert not (tmp_path / "models").exists()  # no model was built or loaded


def test_hub_dataset_not_cached_offline_stops_the_run(micro_overrides, tmp_path):
    overrides = with_overrides(micro_overrides, "loop.prompts_file=hf:someone/not-downloaded")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "launch.py", *overrides], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert ("ampli: error: loop.prompts_file=hf:someone/not-downloaded: Hugging Face dataset "
            "'someone/not-downloaded' is not in the datasets cache") in done.stderr
    out = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")))
    assert not (out / "runs").exists()
