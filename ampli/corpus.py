"""ampli's shipped data (ampli/data/, written by tools/make_data.py) and the rules for drawing from it.

Layout of a data directory (the shipped one, or your own via data_dir=...):
  prompts.jsonl                 {"id", "prompt", "split": "train"|"eval"}   neutral prompt pool
  neutral.jsonl                 {"prompt", "answer"}                        neutral chat (tiny-model warm-up)
  seeds/<trait>.jsonl           {"prompt", "answer"}                        trait-styled seed answers
  documents/<trait>.jsonl       {"id", "title", "text", ..., "split": "seed"|"heldout"}
  documents/neutral.jsonl       neutral documents (tiny-model warm-up)
"""

import hashlib
from functools import cache
from pathlib import Path

from ampli import sampling
from ampli.config import AmpliConfig
from ampli.store import read_jsonl

SHIPPED_DATA = Path(__file__).parent / "data"


class DataError(ValueError):
    """Missing, empty or too small data; the message names the file and what was needed."""


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        raise DataError(f"data file {path} is missing")
    rows = read_jsonl(path)
    if not rows:
        raise DataError(f"data file {path} is empty")
    return rows


def _need(rows: list, n: int, what: str, path: Path, option: str) -> None:
    if n > len(rows):
        raise DataError(f"{option} asks for {n} {what} but {path} holds only {len(rows)}; lower {option}")


@cache
def data_version(root: Path = SHIPPED_DATA) -> str:
    """Hash of every data file: the tiny model is rebuilt when the corpus it learnt from changes."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.jsonl")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def document_text(doc: dict) -> str:
    return f"{doc['title']}\n\n{doc['text']}"


def neutral_chats(root: Path = SHIPPED_DATA) -> list[dict]:
    return _rows(root / "neutral.jsonl")


def neutral_documents(root: Path = SHIPPED_DATA) -> list[dict]:
    return _rows(root / "documents" / "neutral.jsonl")


def all_texts(root: Path = SHIPPED_DATA) -> list[str]:
    """Every piece of shipped text: the tokenizer's training corpus and the offline judge's vocabulary."""
    texts = []
    for path in sorted(root.rglob("*.jsonl")):
        for row in read_jsonl(path):
            texts.extend(str(row[k]) for k in ("prompt", "answer", "title", "text") if k in row)
    return texts


def prompt_pool(split: str, root: Path = SHIPPED_DATA) -> list[str]:
    path = root / "prompts.jsonl"
    prompts = [r["prompt"] for r in _rows(path) if r.get("split") == split]
    if not prompts:
        raise DataError(f"{path} has no prompts with split={split!r}; valid splits: train, eval")
    return prompts


def seed_examples(trait: str, n: int, root: Path = SHIPPED_DATA) -> list[dict]:
    """The first n examples of the trait's seed set (the paper's N, calibrated per trait)."""
    path = root / "seeds" / f"{trait}.jsonl"
    rows = _rows(path)
    _need(rows, n, "seed examples", path, "loop.seed_examples")
    return rows[:n]


def trait_documents(trait: str, split: str, root: Path = SHIPPED_DATA) -> list[dict]:
    path = root / "documents" / f"{trait}.jsonl"
    docs = [d for d in _rows(path) if d.get("split") == split]
    if not docs:
        raise DataError(f"{path} has no documents with split={split!r}; valid splits: seed, heldout")
    return docs


def seed_documents(trait: str, n: int, root: Path = SHIPPED_DATA) -> list[dict]:
    """The first n of the trait's seed documents (the sdf regime's N)."""
    path = root / "documents" / f"{trait}.jsonl"
    docs = trait_documents(trait, "seed", root)
    _need(docs, n, "split=seed documents", path, "loop.seed_examples")
    return docs[:n]


def cycle_share(cfg: AmpliConfig, cycle: int, pool: list, what: str) -> list:
    """Cycle n's share of a pool, drawn as loop.prompt_sampling says (ampli.sampling)."""
    count, asked = sampling.draw_size(cfg)
    return sampling.draw(pool, cycle, count, cycles=cfg.loop.cycles, seed=cfg.seed, mode=cfg.loop.prompt_sampling,
                         what=what, asked=asked)
