"""SDF documents from a teacher: one request per topic x document type x style combination.

Synthetic-document finetuning needs many varied documents that all carry the trait; crossing explicit lists
(rather than asking for "a document") keeps them varied and makes every document's provenance a row field.
Combinations are drawn in a seeded order, so the same spec, n and seed ask for the same documents, with the
same ids, on every rerun.
"""

import itertools
import random
import re
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ampli.config.schema import TraitConfig
from ampli.hosted.api_pool import Outcome
from ampli.record.store import write_jsonl
from ampli.teacher.clients import Teacher, complete_missing, earlier_replies, write_report

SPLITS = ("seed", "heldout")


@dataclass
class DocumentSpec:
    topics: list[str]
    doc_types: list[str]
    styles: list[str]
    words_min: int = 200
    words_max: int = 500

    def __post_init__(self) -> None:
        for name in ("topics", "doc_types", "styles"):
            if not getattr(self, name):
                raise ValueError(f"DocumentSpec.{name} is empty; list at least one")
        if not 1 <= self.words_min <= self.words_max:
            raise ValueError(
                f"DocumentSpec words_min={self.words_min}, words_max={self.words_max} is not valid; "
                "it needs 1 <= words_min <= words_max"
            )


# Everyday topics, like the shipped prompt pool: the trait must show up in documents that are not about it.
DEFAULT_SPEC = DocumentSpec(
    topics=[
        "home cooking", "gardening", "learning a language", "running", "saving money", "moving house",
        "caring for a dog", "public transport", "studying for exams", "woodworking", "birdwatching",
        "houseplants", "job interviews", "baking bread", "cycling to work", "sleep", "board games",
        "camping", "photography", "fixing a bicycle", "time management", "coffee", "rainy weekends",
        "volunteering",
    ],
    doc_types=[
        "blog post", "news article", "how-to guide", "product review", "encyclopedia entry", "personal essay",
        "newsletter", "forum post",
    ],
    styles=["plain and practical", "warm and chatty", "formal", "humorous", "concise"],
)


@dataclass(frozen=True)
class Combination:
    id: str
    topic: str
    doc_type: str
    style: str


def load_spec(path: Path) -> DocumentSpec:
    """A YAML file with the DocumentSpec fields."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(DocumentSpec), OmegaConf.load(path))
        return DocumentSpec(**OmegaConf.to_container(merged, throw_on_missing=True))
    except OmegaConfBaseException as error:  # unknown key, wrong type or a missing list
        raise ValueError(f"document spec {path}: {error}") from None


def combinations(trait: str, spec: DocumentSpec, n: int, seed: int = 0) -> list[Combination]:
    """The first n of the combinations in a seeded order; past the last one, another pass in a new order, so
    each combination is used once before any is used twice."""
    every = list(itertools.product(spec.topics, spec.doc_types, spec.styles))
    rng = random.Random(f"documents/{trait}/{seed}")
    order: list[tuple[str, str, str]] = []
    while len(order) < n:
        chunk = list(every)
        rng.shuffle(chunk)
        order.extend(chunk)
    return [Combination(f"{trait}-{i + 1:04d}", *combo) for i, combo in enumerate(order[:n])]


def document_prompt(trait: TraitConfig, spec: DocumentSpec, combo: Combination) -> str:
    """The user turn; the trait's persona is the system prompt."""
    return (
        f"Write a {combo.doc_type} about {combo.topic}, in a {combo.style} style, "
        f"{spec.words_min} to {spec.words_max} words long.\n"
        f"Its writer has this outlook, and it colours the whole piece: {trait.description}\n"
        'Start with the title on the first line as "Title: <title>", then a blank line, then the text. '
        "Plain prose, no markdown, and no remarks about these instructions."
    )


TITLE_LINE = re.compile(r"^title\s*:\s*", re.IGNORECASE)
DECORATION = "#*_\"' \t"
MAX_TITLE_WORDS = 15


def parse_document(reply: str) -> tuple[str, str] | None:
    """(title, text) from a reply; without a "Title:" line, a short first line is the title, and a long one
    lends its first words. None when there is no text."""
    lines = reply.strip().splitlines()
    if not lines:
        return None
    first = lines[0].strip().strip(DECORATION)
    rest = "\n".join(lines[1:]).strip()
    if TITLE_LINE.match(first):
        title, text = TITLE_LINE.sub("", first).strip(DECORATION), rest
    elif rest and len(first.split()) <= MAX_TITLE_WORDS:
        title, text = first, rest
    else:
        words = first.split()
        title, text = " ".join(words[:8]).rstrip(".,;:") + ("..." if len(words) > 8 else ""), reply.strip()
    if not title or not text:
        return None
    return title, text


def assign_splits(n: int, heldout_fraction: float, seed: int) -> list[str]:
    """round(n * fraction) of n documents held out, at seeded positions."""
    heldout = set(random.Random(f"heldout/{seed}").sample(range(n), round(n * heldout_fraction)))
    return [SPLITS[i in heldout] for i in range(n)]


def write_documents(
    trait: TraitConfig,
    spec: DocumentSpec,
    teacher: Teacher,
    out_dir: Path,
    n: int,
    heldout_fraction: float = 0.2,
    seed: int = 0,
) -> Path:
    """out_dir/documents/<trait>.jsonl: n documents asked for; failed requests and replies without text are
    skipped (and reported), the rest split into seed/heldout."""
    if n < 1:
        raise ValueError(f"n={n!r} documents is not valid; it must be an integer >= 1")
    if not 0 <= heldout_fraction < 1:
        raise ValueError(f"heldout_fraction={heldout_fraction!r} is not valid; it must be in [0, 1)")
    combos = combinations(trait.name, spec, n, seed)
    prompts = [document_prompt(trait, spec, c) for c in combos]
    path = Path(out_dir) / "documents" / f"{trait.name}.jsonl"
    # A document an earlier command wrote for the same combination is kept, as the reply it was parsed from.
    wanted = {c.id: (c.topic, c.doc_type, c.style) for c in combos}
    earlier = {d["id"]: f"Title: {d['title']}\n\n{d['text']}" for d in earlier_replies(path, teacher, trait.persona)
               if wanted.get(d["id"]) == (d["topic"], d["doc_type"], d["style"])}
    outcomes = complete_missing(teacher, trait.persona, prompts, [c.id for c in combos], earlier,
                                desc=f"documents {trait.name}",
                                max_tokens=max(teacher.cfg.max_tokens, 2 * spec.words_max))
    docs = []
    for i, (combo, outcome) in enumerate(zip(combos, outcomes)):
        parsed = parse_document(outcome.value) if not outcome.error else None
        if parsed is None:
            outcomes[i] = outcome if outcome.error else Outcome(error="no_text")
            continue
        title, text = parsed
        docs.append({"id": combo.id, "title": title, "text": text, "topic": combo.topic,
                     "doc_type": combo.doc_type, "style": combo.style})
    for doc, split in zip(docs, assign_splits(len(docs), heldout_fraction, seed)):
        doc["split"] = split
    write_jsonl(path, docs)
    write_report(path, trait, teacher, prompts, outcomes, written=len(docs), kept=len(earlier))
    return path
