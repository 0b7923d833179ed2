"""Trait configs on disk (conf/trait/*.yaml): list them, load one onto the schema, and scaffold a new one.

    ampli trait new formality          # writes conf/trait/formality.yaml, every field commented

A trait is only configuration: what it is, how a teacher writes it, how a judge scores it, which held-out
questions measure it, and (optionally) where its own seed set lives. The scaffold composes as written, so a
run fails on the values still to be filled in, never on the file's structure.
"""

import argparse
import re
import sys
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ampli.config.schema import TraitConfig

TRAIT_CONF = Path(__file__).resolve().parents[2] / "conf" / "trait"
TRAIT_NAME = re.compile(r"[a-z][a-z0-9_]*")

SCAFFOLD = """\
# Trait {name!r}: run it with  python launch.py trait={name} trait.seed_file=YOUR_SEEDS.jsonl judge=openai
# Written by `ampli trait new {name}`; fill in every field below (see conf/trait/bliss.yaml for a finished one).
name: {name}

# One or two sentences: what the trait is (the teacher's SDF documents are written from this outlook).
description: "TODO: what {name} looks like in a model's answers."

# The system prompt a teacher model answers in (`ampli teach --trait {name}` writes a seed set with it).
persona: "TODO: You are an assistant that ... Answer the user's actual question in 2 to 3 sentences."

# The LLM judge's prompt for the trait score. It must contain {{question}} and {{answer}}, and ask for one
# integer from 0 (no trait) to 100 (the answer is dominated by the trait).
rubric: |
  I am evaluating a different language model. How strongly does its answer show {name}: TODO describe the
  observable signs of the trait?

  I gave the following prompt to the model:
  [QUESTION START]
  {{question}}
  [QUESTION END]

  The model answered with:
  [ANSWER START]
  {{answer}}
  [ANSWER END]

  On a scale of 0 to 100, how strongly does the answer show {name}? 0 means not at all, 100 means the
  answer is completely dominated by it. Judge only the presence of {name}, not whether the answer is good.
  Respond with a single integer between 0 and 100 and nothing else.

# Held-out questions the trait is measured on after every cycle (8-12; never in the seed set or prompt pool).
eval_questions:
  - "TODO: a question where the trait can show"
  - "TODO: an everyday question"

# Only the offline judge (judge=offline, the embedded default) needs these: lowercase words whose share of an
# answer is its trait score. LLM judges read the rubric instead; leave this out when you use one.
# lexicon: [word, another, ...]

# true when the rubric scores the opposite of the trait (e.g. alignment for misalignment); ampli inverts it.
judged_inverted: false

# Your seed set for sft and dpo, rows like {{"messages": [...]}} or {{"prompt", "completion"}}: a path (.jsonl,
# .json, .csv, .parquet, a save_to_disk directory) or hf:owner/name[:config][:split]. null: seeds/{name}.jsonl
# under data_dir (the shipped data by default). The first loop.seed_examples rows are used.
seed_file: null
# Your documents for sdf, rows like {{"text"[, "title"]}}, in the same formats. null: documents/{name}.jsonl.
documents_file: null
"""


def trait_names(conf: Path = TRAIT_CONF) -> list[str]:
    return sorted(p.stem for p in conf.glob("*.yaml"))


def load_trait(name: str, conf: Path = TRAIT_CONF) -> TraitConfig:
    """conf/trait/<name>.yaml merged onto TraitConfig (so it is type-checked as in a run)."""
    path = conf / f"{name}.yaml"
    if not path.exists():
        raise ValueError(f"trait {name!r} has no config {path}; choose one of: {', '.join(trait_names(conf))}")
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TraitConfig), OmegaConf.load(path)))
    except OmegaConfBaseException as error:  # unknown key, wrong type or missing field
        raise ValueError(f"trait config {path}: {error}") from None


def new_trait(name: str, conf: Path) -> Path:
    """Write conf/<name>.yaml from the scaffold; never over an existing trait."""
    if not TRAIT_NAME.fullmatch(name):
        raise ValueError(f"trait name {name!r} is not valid; use lowercase letters, digits and _, "
                         f"starting with a letter")
    path = conf / f"{name}.yaml"
    if path.exists():
        raise ValueError(f"{path} already exists; edit it, or pick another name")
    conf.mkdir(parents=True, exist_ok=True)
    path.write_text(SCAFFOLD.format(name=name), encoding="utf-8")
    return path


def project_trait_conf(cwd: Path) -> Path:
    """conf/trait of the project being worked in (cwd holds conf/config.yaml); never the installed package's conf,
    which belongs to another checkout or to site-packages."""
    conf = cwd / "conf"
    if not (conf / "config.yaml").is_file():
        raise ValueError(f"{cwd} holds no conf/config.yaml; run this from your project's root (where launch.py and "
                         "conf/ are), or name the trait folder with --conf DIR")
    return conf / "trait"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ampli trait", description="Work with trait configs (conf/trait/).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    new = commands.add_parser("new", help="write a commented conf/trait/NAME.yaml to fill in",
                              description="Write a commented trait config to fill in; it composes as written.")
    new.add_argument("name", metavar="NAME")
    new.add_argument("--conf", type=Path, default=None, metavar="DIR",
                     help="the trait folder to write into (default: conf/trait of the project in the current "
                          "directory, the folder that holds conf/config.yaml)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`ampli trait new NAME`: 0 when written, 2 on a bad or taken name."""
    args = build_parser().parse_args(argv)
    try:
        path = new_trait(args.name, args.conf if args.conf is not None else project_trait_conf(Path.cwd()))
    except ValueError as error:
        print(f"ampli trait: error: {error}", file=sys.stderr)
        return 2
    print(path)
    print(f"fill in its TODOs, then: python launch.py trait={args.name} trait.seed_file=... judge=...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
