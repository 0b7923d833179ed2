"""`ampli teach`: write a trait's seed set (and SDF documents) with a teacher model into a data directory.

    ampli teach --trait bliss --teacher openai --model gpt-4.1-mini --n 500 --out data/ [--documents 300]
    python launch.py trait=bliss data_dir=data/

The command line only: the teacher backends are ampli/teacher/clients.py, the document sets ampli/teacher/documents.py.
"""

import argparse
import logging
import sys
from pathlib import Path

from ampli.config.traits import load_trait
from ampli.hosted.credentials import JudgeSetupError
from ampli.inputs import corpus
from ampli.inputs.row_shapes import read_pool_prompts
from ampli.record.store import read_jsonl, write_jsonl
from ampli.teacher.clients import build_teacher, write_seed_set
from ampli.teacher.config import load_teacher_config, teacher_presets
from ampli.teacher.documents import DEFAULT_SPEC, load_spec, write_documents


def read_prompts(source: str | None, n: int) -> list[str]:
    """The first n prompts of a prompt pool in any format a run reads (ampli.inputs.row_shapes), or of the shipped
    pool's train split."""
    if source:
        prompts = [r["prompt"] for r in read_pool_prompts(source, "--prompts")]
    else:
        prompts = corpus.prompt_pool("train")
        source = f"the shipped prompt pool ({corpus.SHIPPED_DATA / 'prompts.jsonl'}, train split)"
    if not 1 <= n <= len(prompts):
        raise ValueError(f"--n {n} is not valid: {source} holds {len(prompts)} prompts; use 1..{len(prompts)}")
    return prompts[:n]


def write_prompt_pool(out_dir: Path) -> Path:
    """out_dir/prompts.jsonl, so out_dir works as data_dir: the shipped pool without the train prompts that any
    seed set in out_dir answers, so that later cycles never sample a prompt the seed model was trained on
    (the shipped seeds use prompts outside the pool for the same reason)."""
    seeded = {r["prompt"] for path in sorted((out_dir / "seeds").glob("*.jsonl")) for r in read_jsonl(path)}
    rows = read_jsonl(corpus.SHIPPED_DATA / "prompts.jsonl")
    path = out_dir / "prompts.jsonl"
    write_jsonl(path, [r for r in rows if not (r.get("split") == "train" and r["prompt"] in seeded)])
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ampli teach",
        description="Regenerate a trait's seed set (and SDF documents) with a teacher model answering in the "
        "trait's persona. The output directory has the layout of ampli/data: run with data_dir=OUT.",
    )
    parser.add_argument("--trait", required=True, help="a trait with a config in conf/trait/")
    parser.add_argument("--teacher", default="openai", help=f"preset in conf/teacher/: {', '.join(teacher_presets())}")
    parser.add_argument("--model", help="teacher model (default: the preset's)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://gpu-node-12:8000/v1")
    parser.add_argument("--api-key-env", help="environment variable that holds the API key")
    parser.add_argument("--concurrency", type=int, help="requests in flight at once")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--max-tokens", type=int, help="per seed answer")
    parser.add_argument("--max-cost-usd", type=float,
                        help="stop asking once this command has spent this much; a rerun asks only for what is missing")
    parser.add_argument("--input-cost-per-mtok", type=float, help="USD per million input tokens (default: list)")
    parser.add_argument("--output-cost-per-mtok", type=float, help="USD per million output tokens (default: list)")
    parser.add_argument("--n", type=int, default=500, help="seed examples to write (default: 500)")
    parser.add_argument("--prompts", metavar="FILE",
                        help="a prompt pool to answer, in any format a run reads, e.g. {\"query\": ...} rows "
                        "(default: the shipped pool's train split)")
    parser.add_argument("--documents", type=int, default=0, metavar="N", help="also write N SDF documents")
    parser.add_argument("--doc-spec", type=Path, metavar="FILE.yaml",
                        help="topics/doc_types/styles/words_min/words_max "
                        "(default: ampli.teacher.documents.DEFAULT_SPEC)")
    parser.add_argument("--heldout-fraction", type=float, default=0.2, help="share of documents held out")
    parser.add_argument("--seed", type=int, default=0, help="document combination order and held-out split")
    parser.add_argument("--out", type=Path, required=True, help="output data directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`ampli teach`: 0 when every requested set has rows, 1 when one came out empty or the budget stopped it,
    2 on a setup error."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        trait = load_trait(args.trait)
        cfg = load_teacher_config(args.teacher, model=args.model, base_url=args.base_url,
                                  api_key_env=args.api_key_env, concurrency=args.concurrency,
                                  temperature=args.temperature, max_tokens=args.max_tokens,
                                  max_cost_usd=args.max_cost_usd, input_cost_per_mtok=args.input_cost_per_mtok,
                                  output_cost_per_mtok=args.output_cost_per_mtok)
        prompts = read_prompts(args.prompts, args.n)
        spec = load_spec(args.doc_spec) if args.doc_spec else DEFAULT_SPEC
        teacher = build_teacher(cfg)
    except (ValueError, JudgeSetupError) as error:
        print(f"ampli teach: error: {error}", file=sys.stderr)
        return 2
    paths, skipped = [], 0
    try:
        paths.append(write_seed_set(trait, prompts, teacher, args.out))
        if args.documents and teacher.over_budget():
            skipped = args.documents  # a spent budget starts no further set
        elif args.documents:
            paths.append(write_documents(trait, spec, teacher, args.out, args.documents,
                                         heldout_fraction=args.heldout_fraction, seed=args.seed))
    except (ValueError, JudgeSetupError) as error:
        print(f"ampli teach: error: {error}", file=sys.stderr)
        return 2
    finally:
        teacher.close()
    unsent = teacher.unsent + skipped
    if unsent:
        print(f"ampli teach: stopped: {teacher.budget.stop(teacher.usage.cost_usd)}; {unsent} requests were not "
              f"sent, and what was answered is written", file=sys.stderr)
    pool = write_prompt_pool(args.out)
    counts = {path: sum(1 for _ in path.open(encoding="utf-8")) for path in paths}
    for path, count in counts.items():
        print(f"{path}: {count} rows (report: {path.with_suffix('.report.json')})")
    print(f"{pool}: the shipped prompt pool without the seed prompts")
    print(f"use it with: python launch.py trait={trait.name} data_dir={args.out}")
    return 0 if all(counts.values()) and not unsent else 1


if __name__ == "__main__":
    sys.exit(main())
