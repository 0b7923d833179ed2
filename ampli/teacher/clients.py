"""The teacher: a strong model that writes a trait's seed set (and SDF documents) in character, from its persona.

ampli ships a small hand-composed corpus for the CPU default; on a cluster the seed sets are regenerated with
any model the judge backends can call (OpenAI or a vLLM server, Claude, a local transformers model):

    ampli teach --trait bliss --teacher openai --model gpt-4.1-mini --n 500 --out data/ [--documents 300]
    python launch.py trait=bliss data_dir=data/

(the command itself is ampli/teacher/teach.py; ampli/teacher/documents.py writes the SDF documents with a teacher from
here).

A request that fails (after retries) is recorded in <file>.report.json and skipped, never fatal; only a
failure that would hit every request (a missing or rejected key, an unknown model) stops the command. So does
--max-cost-usd once spent: what was answered is written, and a rerun with the same teacher asks only for the rows
its files lack (delete a file to have it written anew).
"""

import hashlib
import logging
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ampli.config.schema import TraitConfig
from ampli.hosted.api_pool import ApiPool, ItemError, Outcome
from ampli.hosted.credentials import read_api_key
from ampli.hosted.spending import BUDGET_REACHED, Budget, token_cost, with_prices
from ampli.models.chat import render_prompt, template_kwargs, user_turn
from ampli.record.store import read_json, read_jsonl, write_json, write_jsonl
from ampli.teacher.config import TeacherConfig

log = logging.getLogger("ampli")


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
    def _template_arguments(self) -> dict:
        """vLLM's extension of the chat API, sent only when set: OpenAI itself rejects unknown fields."""
        kwargs = self.cfg.chat_template_kwargs
        return {"extra_body": {"chat_template_kwargs": dict(kwargs)}} if kwargs else {}

    async def _ask(self, system: str, user: str, max_tokens: int) -> str:
        with self._pool.sorted_errors():
            response = await self._pool.client.chat.completions.create(
                model=self.cfg.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_tokens=max_tokens,
                temperature=self.cfg.temperature,
                **self._template_arguments(),
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
            # anthropic 2.x's messages.create takes no temperature argument; the API still reads it from the body
            # (the Claude judge sends it the same way).
            message = await self._pool.client.messages.create(
                model=self.cfg.model,
                system=system,
                messages=[{"role": "user", "content": user}],
                max_tokens=max_tokens,
                extra_body={"temperature": self.cfg.temperature},
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
        self._chat_kwargs = template_kwargs(self._tokenizer, cfg.chat_template_kwargs)  # thinking off by default

    def _render(self, system: str, user: str) -> str:
        if not self._tokenizer.chat_template:
            return f"{system}\n\n{user}\n\n"
        from jinja2 import TemplateError

        try:
            return render_prompt(self._tokenizer, user_turn(user, system), self._chat_kwargs)
        except TemplateError:  # templates without a system role (e.g. Gemma): the persona opens the user turn
            return render_prompt(self._tokenizer, user_turn(f"{system}\n\n{user}"), self._chat_kwargs)

    def _complete(self, system: str, prompts: list[str], desc: str, max_tokens: int) -> list[Outcome[str]]:
        from ampli.generation.batched import generate

        ends: list[bool] = []
        texts = generate(self._model, self._tokenizer, [self._render(system, p) for p in prompts],
                         max_new_tokens=max_tokens, temperature=self.cfg.temperature,
                         batch_size=self.cfg.batch_size, seed=0, desc=desc, ends=ends)
        self.usage.requests += len(prompts)
        # As the API teachers do: an answer cut at max_tokens is refused, not written as if it were whole.
        return [Outcome(value=text) if ended else Outcome(error=f"truncated at max_tokens={max_tokens}")
                for text, ended in zip(texts, ends)]


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


# What changes the answers a teacher writes: a rerun keeps earlier rows only where all of these are as they were
# (the endpoint's address is not among them: the same model behind another URL writes alike).
ANSWER_SETTINGS = ("backend", "model", "temperature", "chat_template_kwargs", "persona_sha256")


def teacher_identity(teacher: Teacher, system: str) -> dict:
    """Who wrote a data file, for its report and for deciding whether a rerun may keep its rows."""
    return {"backend": teacher.cfg.backend, "model": teacher.cfg.model, "base_url": teacher.cfg.base_url,
            "temperature": teacher.cfg.temperature, "chat_template_kwargs": dict(teacher.cfg.chat_template_kwargs),
            "persona_sha256": hashlib.sha256(system.encode()).hexdigest()}


def earlier_replies(data_path: Path, teacher: Teacher, system: str) -> list[dict]:
    """The rows of data_path if an earlier command wrote them with this teacher model, sampling settings and persona
    (e.g. one stopped by its budget), so that a rerun keeps them instead of paying for them again; else none (a
    report written before a setting was recorded keeps nothing: what wrote its rows is not known)."""
    report = data_path.with_suffix(".report.json")
    if not (data_path.exists() and report.exists()):
        return []
    wrote, now = read_json(report).get("teacher", {}), teacher_identity(teacher, system)
    same = all(wrote.get(k) == now[k] for k in ANSWER_SETTINGS)
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
