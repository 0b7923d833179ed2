"""ampli's data: the shipped corpus (ampli/data/, written by tools/make_data.py), the files a run draws from, and
the rules for drawing from them.

Layout of a data directory (the shipped one, or your own via data_dir=...):
  prompts.jsonl                 {"id", "prompt", "split": "train"|"eval"}   neutral prompt pool
  neutral.jsonl                 {"prompt", "answer"}                        neutral chat (tiny-model warm-up)
  seeds/<trait>.jsonl           {"prompt", "answer"}                        trait-styled seed answers
  documents/<trait>.jsonl       {"id", "title", "text", ..., "split": "seed"|"heldout"}
  documents/neutral.jsonl       neutral documents (tiny-model warm-up)
  openers.jsonl                 {"id", "opener"}                            neutral document openers (sdf)
Each run file can also be named on its own, in any format and row shape of ampli.inputs.data_files /
ampli.inputs.row_shapes: trait.seed_file, trait.documents_file, loop.prompts_file, loop.eval_prompts_file.
"""

import hashlib
import random
from functools import cache, cached_property
from pathlib import Path

from ampli.config.schema import AmpliConfig
from ampli.inputs import sampling
from ampli.inputs.data_files import DataError
from ampli.inputs.row_shapes import read_documents, read_pool_prompts, read_seed_examples
from ampli.record.store import read_jsonl

SHIPPED_DATA = Path(__file__).parents[1] / "data"
# Prompts that only later sdf cycles read: the tiny model never learns from them, so they are not in its corpus.
NOT_IN_CORPUS = ("openers.jsonl",)
EVAL_SPLIT_SEED = 0  # one held-out split for every run seed: the runs of a sweep share their eval prompts


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        raise DataError(f"data file {path} is missing")
    rows = read_jsonl(path)
    if not rows:
        raise DataError(f"data file {path} is empty")
    return rows


def _need(rows: list, n: int, what: str, source: str, option: str, more: str) -> None:
    if n > len(rows):
        raise DataError(f"{option} asks for {n} {what} but {source} holds only {len(rows)}; lower {option}, "
                        f"or {more}")


def more_seeds(trait: str, n: int, file_option: str) -> str:
    """How to get a larger seed set than the one shipped: write one with a teacher, or bring your own file."""
    flag = "--n" if file_option == "trait.seed_file" else "--documents"
    return (f"make more with `ampli teach --trait {trait} --teacher openai {flag} {n} --out data/` (then data_dir=data/)"
            f" or give your own file as {file_option}=...")


@cache
def data_version(root: Path = SHIPPED_DATA) -> str:
    """Hash of every data file: the tiny model is rebuilt when the corpus it learnt from changes."""
    h = hashlib.sha256()
    for p in sorted(p for p in root.rglob("*.jsonl") if p.name not in NOT_IN_CORPUS):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def document_text(doc: dict) -> str:
    return f"{doc['title']}\n\n{doc['text']}" if doc.get("title") else doc["text"]


def neutral_chats(root: Path = SHIPPED_DATA) -> list[dict]:
    return _rows(root / "neutral.jsonl")


def neutral_documents(root: Path = SHIPPED_DATA) -> list[dict]:
    return _rows(root / "documents" / "neutral.jsonl")


def all_texts(root: Path = SHIPPED_DATA) -> list[str]:
    """Every piece of shipped text: the tokenizer's training corpus and the offline judge's vocabulary."""
    texts = []
    for path in sorted(p for p in root.rglob("*.jsonl") if p.name not in NOT_IN_CORPUS):
        for row in read_jsonl(path):
            texts.extend(str(row[k]) for k in ("prompt", "answer", "title", "text") if k in row)
    return texts


def system_field(system: str | None) -> dict:
    """A record's optional system turn: present only where the seed set has one, so other records keep their shape."""
    return {"system": system} if system else {}


def prompt_pool(split: str, root: Path = SHIPPED_DATA) -> list[str]:
    """One split of a data directory's prompts.jsonl (by its "split" field); the shipped pool by default."""
    path = root / "prompts.jsonl"
    prompts = [r["prompt"] for r in read_pool_prompts(str(path), "data_dir") if r.get("split") == split]
    if not prompts:
        raise DataError(f"{path} has no prompts with split={split!r}; valid splits: train, eval")
    return prompts


def held_out_split(prompts: list[str], fraction: float, source: str) -> dict[str, list[str]]:
    """A seeded split of a pool without one: `fraction` of it held out for evaluation, file order kept."""
    n_eval = max(1, round(len(prompts) * fraction))
    if n_eval >= len(prompts):
        raise DataError(f"{source} holds {len(prompts)} prompts: too few to hold out loop.eval_fraction={fraction} "
                        f"of them for evaluation; add prompts or give loop.eval_prompts_file")
    held = set(random.Random(EVAL_SPLIT_SEED).sample(range(len(prompts)), n_eval))
    return {"train": [p for i, p in enumerate(prompts) if i not in held],
            "eval": [p for i, p in enumerate(prompts) if i in held]}


class RunData:
    """The files one run draws from: each is named by its option or else found under data_dir (or the shipped
    data), and is read and validated once, on first use. check_data touches every file a regime needs before
    any model is built, so a bad row stops the run before it has cost anything."""

    def __init__(self, cfg: AmpliConfig):
        self.cfg = cfg
        root = Path(cfg.data_dir) if cfg.data_dir else SHIPPED_DATA
        self.seed_file = cfg.trait.seed_file or str(root / "seeds" / f"{cfg.trait.name}.jsonl")
        self.documents_file = cfg.trait.documents_file or str(root / "documents" / f"{cfg.trait.name}.jsonl")
        self.prompts_file = cfg.loop.prompts_file or str(root / "prompts.jsonl")
        # A data_dir without openers (e.g. one `ampli teach` wrote) continues the shipped ones: they carry no trait.
        own_openers = root / "openers.jsonl"
        self.openers_file = own_openers if own_openers.exists() else SHIPPED_DATA / "openers.jsonl"

    @cached_property
    def seed_set(self) -> list[dict]:
        """Every seed example of the trait, in file order: {"prompt", "answer"[, "system"]}."""
        return read_seed_examples(self.seed_file, "trait.seed_file")

    def seed_examples(self) -> list[dict]:
        """The first loop.seed_examples rows of the trait's seed set (the paper's N, calibrated per trait)."""
        n = self.cfg.loop.seed_examples
        _need(self.seed_set, n, "seed examples", self.seed_file, "loop.seed_examples",
              more_seeds(self.cfg.trait.name, n, "trait.seed_file"))
        return self.seed_set[:n]

    @cached_property
    def prompts(self) -> dict[str, list[str]]:
        """The pool's train and eval prompts: eval from loop.eval_prompts_file if given, else the rows marked
        split=eval, else a seeded loop.eval_fraction of the pool."""
        rows = read_pool_prompts(self.prompts_file, "loop.prompts_file")
        if self.cfg.loop.eval_prompts_file:
            held = read_pool_prompts(self.cfg.loop.eval_prompts_file, "loop.eval_prompts_file")
            return {"train": [r["prompt"] for r in rows if r.get("split") != "eval"],
                    "eval": [r["prompt"] for r in held]}
        if any(r.get("split") == "eval" for r in rows):
            return {split: [r["prompt"] for r in rows if r.get("split", "train") == split]
                    for split in ("train", "eval")}
        return held_out_split([r["prompt"] for r in rows], self.cfg.loop.eval_fraction, self.prompts_file)

    def prompt_pool(self, split: str) -> list[str]:
        return self.prompts[split]

    @cached_property
    def document_set(self) -> list[dict]:
        return read_documents(self.documents_file, "trait.documents_file")

    @property
    def documents_have_splits(self) -> bool:
        return any(d.get("split") == "heldout" for d in self.document_set)

    def trait_documents(self, split: str) -> list[dict]:
        """split=seed|heldout by the rows' "split" field; a file without held-out rows: the first
        loop.seed_examples documents are the seed set and the rest the held-out pool."""
        docs = self.document_set
        if self.documents_have_splits:
            return [d for d in docs if d.get("split", "seed") == split]
        n = self.cfg.loop.seed_examples
        return docs[:n] if split == "seed" else docs[n:]

    def seed_documents(self) -> list[dict]:
        """The first loop.seed_examples seed documents (the sdf regime's N)."""
        n = self.cfg.loop.seed_examples
        docs = self.trait_documents("seed") if self.documents_have_splits else self.document_set
        _need(docs, n, "seed documents", self.documents_file, "loop.seed_examples",
              more_seeds(self.cfg.trait.name, n, "trait.documents_file"))
        return docs[:n]

    @cached_property
    def openers(self) -> list[str]:
        """Neutral document openers (openers.jsonl of data_dir if it has one, else the shipped ones) that later sdf
        cycles continue under regime.continuation=neutral."""
        rows = _rows(self.openers_file)
        bad = [i for i, r in enumerate(rows, 1) if not isinstance(r.get("opener"), str) or not r["opener"].strip()]
        if bad:
            raise DataError(f"{self.openers_file}:{bad[0]}: no \"opener\" text; expected rows like "
                            '{"id": ..., "opener": "A short guide to winter coats"}')
        return [r["opener"] for r in rows]


# Where a larger pool of each kind comes from, for the error of a pool too small for the run.
LARGER_POOLS = {
    "prompts": "your own pool as loop.prompts_file=... (or a prompts.jsonl in data_dir=...)",
    "held-out documents": "more held-out rows in trait.documents_file=... (`ampli teach --documents N` writes them)",
    "document openers": "your own openers.jsonl in data_dir=... (one {\"opener\": ...} a line)",
}


def cycle_share(cfg: AmpliConfig, cycle: int, pool: list, what: str) -> list:
    """Cycle n's share of a pool, drawn as loop.prompt_sampling says (ampli.inputs.sampling)."""
    count, asked = sampling.draw_size(cfg)
    try:
        return sampling.draw(pool, cycle, count, cycles=cfg.loop.cycles, seed=cfg.seed,
                             mode=cfg.loop.prompt_sampling, what=what, asked=asked)
    except sampling.PoolTooSmallError as e:
        raise sampling.PoolTooSmallError(f"{e}; a larger pool: {LARGER_POOLS[what]}") from None
