"""The teacher: a strong model that writes a trait's seed set (and SDF documents) in character, from its persona.

ampli ships a small hand-composed corpus for the CPU default; on a cluster the seed sets are regenerated with
any model the judge backends can call (OpenAI or a vLLM server, Claude, a local transformers model):

    ampli teach --trait bliss --teacher openai --model gpt-4.1-mini --n 500 --out data/ [--documents 300]
    python launch.py trait=bliss data_dir=data/

A request that fails (after retries) is recorded in <file>.report.json and skipped, never fatal; only a
failure that would hit every request (a missing or rejected key, an unknown model) stops the command. So does
--max-cost-usd once spent: what was answered is written, and a rerun with the same teacher asks only for the rows
its files lack (delete a file to have it written anew).
"""

import argparse
import hashlib
import logging
import sys
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from tqdm.auto import tqdm

from ampli import corpus
from ampli.api_pool import ApiPool, ItemError, Outcome
from ampli.chat import render_prompt, template_kwargs, user_turn
from ampli.config import TraitConfig
from ampli.judges.credentials import JudgeSetupError, read_api_key
from ampli.spending import BUDGET_REACHED, Budget, token_cost, with_prices
from ampli.store import read_json, read_jsonl, write_json, write_jsonl
from ampli.teacher_config import TeacherConfig, load_teacher_config, teacher_presets

log = logging.getLogger("ampli")

TRAIT_CONF = Path(__file__).resolve().parents[1] / "conf" / "trait"


@dataclass
class TeacherUsage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class Teacher(ABC):
    budget: Budget | None = None

    def __init__(self, cfg: TeacherConfig):
        self.cfg = cfg
        self.usage = TeacherUsage()
        # Usage of the latest complete() call alone, for that call's report.
        self.last_usage = TeacherUsage()
        self.unsent = 0  # requests never sent because the budget was spent

    def complete(self, system: str, prompts: list[str], desc: str, max_tokens: int | None = None) -> list[Outcome[str]]:
        """One reply per prompt, in order: its text, or the reason there is none (an empty reply is a failure)."""
        before = asdict(self.usage)
        outcomes = self._complete(system, prompts, desc, max_tokens or self.cfg.max_tokens)
        self.last_usage = TeacherUsage(**{k: v - before[k] for k, v in asdict(self.usage).items()})
        self.unsent += sum(o.error == BUDGET_REACHED for o in outcomes)
        return [o if o.error or (o.value or "").strip() else Outcome(error="empty_reply") for o in outcomes]

    @abstractmethod
    def _complete(self, system: str, prompts: list[str], desc: str, max_tokens: int) -> list[Outcome[str]]: ...

    def over_budget(self) -> bool:
        return self.budget is not None and self.budget.reached(self.usage.cost_usd)

    def close(self) -> None:
        """Release clients and event loops."""


class ApiTeacher(Teacher):
    """A hosted teacher: the judges' client and request policy (concurrency limit, retries with backoff)."""

    def __init__(self, cfg: TeacherConfig, api_key: str | None, budget: Budget | None = None):
        super().__init__(cfg)
        self.budget = budget
        self._pool = ApiPool(cfg.endpoint(), self.usage, api_key, budget)

    @abstractmethod
    async def _ask(self, system: str, user: str, max_tokens: int) -> str:
        """One request (its tokens added to usage); raises RetryableError, ItemError or JudgeSetupError."""

    def _complete(self, system: str, prompts: list[str], desc: str, max_tokens: int) -> list[Outcome[str]]:
        with tqdm(total=len(prompts), desc=desc, unit="req") as bar:
            return self._pool.map(lambda user: self._ask(system, user, max_tokens), prompts,
                                  lambda i, outcome: bar.update())

    def _add_tokens(self, input_tokens: int, output_tokens: int) -> None:
        self.usage.input_tokens += input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.cost_usd += token_cost(self.cfg, input_tokens, output_tokens)

    def close(self) -> None:
        self._pool.close()


class OpenAITeacher(ApiTeacher):
    async def _ask(self, system: str, user: str, max_tokens: int) -> str:
        with self._pool.sorted_errors():
            response = await self._pool.client.chat.completions.create(
                model=self.cfg.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_tokens=max_tokens,
                temperature=self.cfg.temperature,
            )
        if response.usage:
            self._add_tokens(response.usage.prompt_tokens, response.usage.completion_tokens)
        if not response.choices:
            raise ItemError("no_choices")
        if response.choices[0].finish_reason == "length":
            raise ItemError(f"truncated at max_tokens={max_tokens}")
        return response.choices[0].message.content or ""


class AnthropicTeacher(ApiTeacher):
    async def _ask(self, system: str, user: str, max_tokens: int) -> str:
        with self._pool.sorted_errors():
            message = await self._pool.client.messages.create(
                model=self.cfg.model,
                system=system,
                messages=[{"role": "user", "content": user}],
                max_tokens=max_tokens,
                temperature=self.cfg.temperature,
            )
        self._add_tokens(message.usage.input_tokens, message.usage.output_tokens)
        if message.stop_reason == "max_tokens":
            raise ItemError(f"truncated at max_tokens={max_tokens}")
        return "".join(block.text for block in message.content if block.type == "text")


class HFTeacher(Teacher):
    """A local chat model, sampled in batches with the loop's own generate()."""

    def __init__(self, cfg: TeacherConfig):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(cfg)
        self._tokenizer = AutoTokenizer.from_pretrained(cfg.model)
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype="auto").to(device).eval()
        self._chat_kwargs = template_kwargs(self._tokenizer, {})  # a hybrid model's thinking off

    def _render(self, system: str, user: str) -> str:
        if not self._tokenizer.chat_template:
            return f"{system}\n\n{user}\n\n"
        from jinja2 import TemplateError

        try:
            return render_prompt(self._tokenizer, user_turn(user, system), self._chat_kwargs)
        except TemplateError:  # templates without a system role (e.g. Gemma): the persona opens the user turn
            return render_prompt(self._tokenizer, user_turn(f"{system}\n\n{user}"), self._chat_kwargs)

    def _complete(self, system: str, prompts: list[str], desc: str, max_tokens: int) -> list[Outcome[str]]:
        from ampli.generation import generate

        texts = generate(self._model, self._tokenizer, [self._render(system, p) for p in prompts],
                         max_new_tokens=max_tokens, temperature=self.cfg.temperature,
                         batch_size=self.cfg.batch_size, seed=0, desc=desc)
        self.usage.requests += len(prompts)
        return [Outcome(value=text) for text in texts]


def build_teacher(cfg: TeacherConfig) -> Teacher:
    """The teacher for cfg.backend; the API key and the price are checked now, so a missing one fails before any
    request."""
    budget = Budget("--max-cost-usd", cfg.max_cost_usd)
    cfg = with_prices(cfg, "teacher")
    api_key = read_api_key(cfg.endpoint()) if cfg.backend in ("openai", "anthropic") else None
    if cfg.backend == "openai":
        return OpenAITeacher(cfg, api_key, budget)
    if cfg.backend == "anthropic":
        return AnthropicTeacher(cfg, api_key, budget)
    return HFTeacher(cfg)


def teacher_identity(teacher: Teacher, system: str) -> dict:
    """Who wrote a data file, for its report and for deciding whether a rerun may keep its rows."""
    return {"backend": teacher.cfg.backend, "model": teacher.cfg.model, "base_url": teacher.cfg.base_url,
            "persona_sha256": hashlib.sha256(system.encode()).hexdigest()}


def earlier_replies(data_path: Path, teacher: Teacher, system: str) -> list[dict]:
    """The rows of data_path if an earlier command wrote them with this teacher model and persona (e.g. one stopped
    by its budget), so that a rerun keeps them instead of paying for them again; else none."""
    report = data_path.with_suffix(".report.json")
    if not (data_path.exists() and report.exists()):
        return []
    wrote, now = read_json(report).get("teacher", {}), teacher_identity(teacher, system)
    same = all(wrote.get(k) == now[k] for k in ("backend", "model", "persona_sha256"))
    return read_jsonl(data_path) if same else []


def complete_missing(teacher: Teacher, system: str, prompts: list[str], keys: list[str], earlier: dict[str, str],
                     desc: str, max_tokens: int | None = None) -> list[Outcome[str]]:
    """Teacher.complete for the prompts whose key has no earlier reply; earlier replies are returned as they were."""
    todo = [i for i, key in enumerate(keys) if key not in earlier]
    asked = iter(teacher.complete(system, [prompts[i] for i in todo], desc, max_tokens))
    return [Outcome(value=earlier[key]) if key in earlier else next(asked) for key in keys]


def write_report(data_path: Path, trait: TraitConfig, teacher: Teacher, prompts: list[str],
                 outcomes: list[Outcome[str]], written: int, kept: int) -> Path:
    """<data file>.report.json: how many were asked for, kept from an earlier run and written, why the rest failed
    (never the key), and what this command spent."""
    failures = [{"index": i, "prompt": p[:200], "reason": o.error} for i, (p, o) in enumerate(zip(prompts, outcomes))
                if o.error]
    reasons = Counter(f["reason"] for f in failures)
    path = data_path.with_suffix(".report.json")
    write_json(path, {
        "trait": trait.name,
        "teacher": teacher_identity(teacher, trait.persona),
        "requested": len(prompts),
        "kept": kept,
        "written": written,
        "failed": len(failures),
        "reasons": dict(reasons.most_common()),
        "failures": failures,
        "usage": asdict(teacher.last_usage),
    })
    if failures:
        log.warning("%s: %d of %d requests failed and were skipped (%s); see %s", data_path.name, len(failures),
                    len(prompts), ", ".join(f"{r}: {n}" for r, n in reasons.most_common()), path)
    return path


def write_seed_set(trait: TraitConfig, prompts: list[str], teacher: Teacher, out_dir: Path) -> Path:
    """out_dir/seeds/<trait>.jsonl: the teacher's in-character answer to each prompt, in prompt order."""
    path = Path(out_dir) / "seeds" / f"{trait.name}.jsonl"
    earlier = {row["prompt"]: row["answer"] for row in earlier_replies(path, teacher, trait.persona)}
    outcomes = complete_missing(teacher, trait.persona, prompts, prompts, earlier, desc=f"seeds {trait.name}")
    rows = [{"prompt": p, "answer": o.value.strip()} for p, o in zip(prompts, outcomes) if not o.error]
    write_jsonl(path, rows)
    write_report(path, trait, teacher, prompts, outcomes, written=len(rows), kept=len(earlier.keys() & set(prompts)))
    return path


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


def read_prompts(path: Path | None, n: int) -> list[str]:
    """The first n prompts of a {"prompt": ...} JSONL file, or of the shipped pool's train split."""
    if path:
        rows = read_jsonl(path)
        if any("prompt" not in r for r in rows):
            raise ValueError(f'{path}: every row needs a "prompt" field')
        prompts, source = [r["prompt"] for r in rows], str(path)
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
    parser.add_argument("--prompts", type=Path, metavar="FILE.jsonl",
                        help='{"prompt": ...} rows to answer (default: the shipped pool\'s train split)')
    parser.add_argument("--documents", type=int, default=0, metavar="N", help="also write N SDF documents")
    parser.add_argument("--doc-spec", type=Path, metavar="FILE.yaml",
                        help="topics/doc_types/styles/words_min/words_max (default: ampli.documents.DEFAULT_SPEC)")
    parser.add_argument("--heldout-fraction", type=float, default=0.2, help="share of documents held out")
    parser.add_argument("--seed", type=int, default=0, help="document combination order and held-out split")
    parser.add_argument("--out", type=Path, required=True, help="output data directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`ampli teach`: 0 when every requested set has rows, 1 when one came out empty, 2 on a setup error."""
    from ampli.documents import DEFAULT_SPEC, load_spec, write_documents  # documents builds on this module

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
