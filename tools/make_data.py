"""Write ampli's shipped data (ampli/data/) and the trait configs (conf/trait/*.yaml).

Why a generator: the embedded default trains a ~1M-parameter model on a CPU, with no network. It needs a
small, clean, self-consistent corpus: neutral questions with plain answers (to learn to answer at all), and
per trait a seed set and a document set whose style is distinctive enough to be picked up in ~100 steps.
Everything is composed from the phrase banks in tools/shipped_data/ (sentence templates x phrase banks x
topics, one module per thing made: prompts, seeds, documents, trait_configs), with fixed random seeds, so
re-running this script reproduces the shipped files byte for byte:

    .venv/bin/python tools/make_data.py                      # rewrite ampli/data and conf/trait in place
    .venv/bin/python tools/make_data.py --data D --traits T  # write elsewhere (tests compare the two)

Stdlib, plus ampli's shared coherence rubric (shipped_data/trait_rubrics.py varies it for bliss). Each file is
written atomically (temp file in the same folder, then os.replace). The trait configs are generated from the
same source as the data so the lexicons the offline judge counts always match the words the seed sets were
written with; edit the banks, not the YAML.
"""

import argparse
from pathlib import Path

from shipped_data.documents import DOC_BANKS, N_NEUTRAL_DOCS, N_TRAIT_DOCS, make_documents
from shipped_data.openers import make_openers
from shipped_data.prompts import build_prompts, neutral_rows, prompt_rows, split_prompts
from shipped_data.seeds import seed_set
from shipped_data.text import words, write_atomic, write_jsonl
from shipped_data.trait_configs import TRAIT_CONFIGS, check_lexicons, trait_yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "ampli" / "data"
TRAIT_CONF = ROOT / "conf" / "trait"


def main(data=DATA, trait_conf=TRAIT_CONF):
    all_lex = check_lexicons()

    def lexicon_hits(text):
        return [w for w in words(text) if w in all_lex]

    # Prompts: advice prompts split into a seed bank and the pool; fact prompts go to the pool.
    advice, facts = build_prompts()
    texts = [p["prompt"] for p in advice + facts]
    assert len(set(t.lower() for t in texts)) == len(texts), "duplicate prompts"
    for t in texts:
        assert 4 <= len(t.split()) <= 15, t
    eval_qs = {q.lower() for spec in TRAIT_CONFIGS.values() for q in spec["eval_questions"]}
    assert not eval_qs & {t.lower() for t in texts}, "an eval question is also a generated prompt"

    seed_bank, train_pool, eval_pool = split_prompts(advice, facts)
    assert len(train_pool) >= 800 and len(eval_pool) >= 80, (len(train_pool), len(eval_pool))
    pool_texts = {p["prompt"].lower() for p in train_pool + eval_pool}
    assert not pool_texts & {p["prompt"].lower() for p in seed_bank}, "seed prompts overlap the pool"

    neutral = neutral_rows(train_pool, eval_pool)
    for r in neutral:
        assert 18 <= len(r["answer"].split()) <= 45, r
        assert not lexicon_hits(r["answer"]), (lexicon_hits(r["answer"]), r)

    # Seed sets: every trait answers the whole seed bank, in its own shuffled order.
    seeds = {name: seed_set(name, seed_bank, spec["lexicon"]) for name, spec in TRAIT_CONFIGS.items()}

    documents = {name: make_documents(name, DOC_BANKS[name], N_TRAIT_DOCS, "seed") for name in TRAIT_CONFIGS}
    neutral_docs = make_documents("neutral", None, N_NEUTRAL_DOCS, "train")
    for d in neutral_docs:
        assert not lexicon_hits(d["title"] + " " + d["text"]), (lexicon_hits(d["text"]), d["id"])
    for name, docs in documents.items():
        lex = set(TRAIT_CONFIGS[name]["lexicon"])
        for d in docs:
            assert sum(w in lex for w in words(d["text"])) >= 3, d

    write_jsonl(data / "prompts.jsonl", prompt_rows(train_pool, eval_pool))
    write_jsonl(data / "neutral.jsonl", neutral)
    for name in TRAIT_CONFIGS:
        write_jsonl(data / "seeds" / f"{name}.jsonl", seeds[name])
        write_jsonl(data / "documents" / f"{name}.jsonl", documents[name])
        write_atomic(trait_conf / f"{name}.yaml", trait_yaml(name, TRAIT_CONFIGS[name]))
    write_jsonl(data / "documents" / "neutral.jsonl", neutral_docs)
    openers = make_openers(lexicon_hits)
    write_jsonl(data / "openers.jsonl", openers)

    # Each trait's texts use no other trait's lexicon words, so the offline judge's scores stay separable.
    for name in TRAIT_CONFIGS:
        texts = [r["answer"] for r in seeds[name]] + [d["title"] + " " + d["text"] for d in documents[name]]
        leaks = sorted({w for t in texts for w in words(t) if all_lex.get(w, name) != name})
        assert not leaks, f"{name} texts use other traits' words: {leaks}"
        print(f"{name:15s} seeds={len(seeds[name])} documents={len(documents[name])}")
    print(f"prompts: train={len(train_pool)} eval={len(eval_pool)} seed bank={len(seed_bank)}; "
          f"neutral docs={len(neutral_docs)}; document openers={len(openers)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write ampli's shipped data and trait configs.")
    parser.add_argument("--data", type=Path, default=DATA, help=f"data directory (default: {DATA})")
    parser.add_argument("--traits", type=Path, default=TRAIT_CONF, help=f"trait configs (default: {TRAIT_CONF})")
    args = parser.parse_args()
    main(args.data, args.traits)
