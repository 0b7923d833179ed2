"""The row shapes ampli accepts for each kind of data, turned into the records the regimes draw from.

Seed examples  -> {"prompt", "answer"[, "system"]}
  {"messages": [...]}  the OpenAI/TRL conversational format: the last user turn is the prompt, the final
                       assistant turn the answer, a leading system turn is kept for training and generation
  {"prompt": [...], "completion": [...]}   TRL's conversational prompt-completion (read as messages)
  {"prompt", "completion" | "answer" | "response"[, "system"]}
Pool prompts   -> {"prompt"[, "split"]}:  {"query" | "question" | "prompt"[, "split": "train" | "eval"]}
Documents      -> {"id", "title", "text"[, "split"]}:  {"text"[, "title", "id", "split": "seed" | "heldout"]}

Other fields are ignored, so rows may carry ids, sources or metadata. Every bad row of a file is collected and
reported at once (the first MAX_REPORTED), before any model is built.
"""

from collections.abc import Callable

from ampli.inputs.data_files import DataError, Row, read_rows

MAX_REPORTED = 10
ROLES = ("system", "user", "assistant")
ANSWER_KEYS = ("completion", "answer", "response")
PROMPT_KEYS = ("query", "question", "prompt")
PROMPT_SPLITS = ("train", "eval")
DOCUMENT_SPLITS = ("seed", "heldout")

SEED_SHAPES = ('{"messages": [{"role": "user", "content": ...}, {"role": "assistant", "content": ...}]} '
               '(a system turn may come first), or {"prompt": ..., "completion"|"answer"|"response": ...}')
PROMPT_SHAPES = '{"query"|"question"|"prompt": ...} with an optional "split": "train"|"eval"'
DOCUMENT_SHAPES = '{"text": ...} with optional "title", "id" and "split": "seed"|"heldout"'


class RowProblem(ValueError):
    """What is wrong with one row, in words; the caller adds where the row is."""


def field(row: dict, key: str) -> str | None:
    """A text field, None when absent (missing, null, or an empty CSV cell); anything but a string is a problem."""
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowProblem(f'"{key}" must be text, got {type(value).__name__}')
    if not value.strip():
        raise RowProblem(f'"{key}" is empty')
    return value


def first_field(row: dict, keys: tuple[str, ...], what: str) -> str:
    for key in keys:
        value = field(row, key)
        if value is not None:
            return value
    raise RowProblem(f"no {what} ({' or '.join(repr(k) for k in keys)})")


def from_messages(messages) -> dict:
    if not isinstance(messages, list) or not messages:
        raise RowProblem('"messages" must be a non-empty list of {"role", "content"} turns')
    for i, turn in enumerate(messages, start=1):
        role = turn.get("role") if isinstance(turn, dict) else None
        if role not in ROLES:
            raise RowProblem(f"turn {i} of \"messages\" has role {role!r}; valid roles: {', '.join(ROLES)}")
        if role == "system" and i > 1:
            raise RowProblem(f"turn {i} of \"messages\" is a system turn; only the first turn may be one")
        try:
            content = field(turn, "content")
        except RowProblem as problem:
            raise RowProblem(f'turn {i} of "messages" ({role}): {problem}') from None
        if content is None:
            raise RowProblem(f'turn {i} of "messages" ({role}) has no "content"')
    last = messages[-1]["role"]
    if last != "assistant":
        raise RowProblem(f"the last turn of \"messages\" is {last!r}; it must be the assistant's answer")
    users = [t["content"] for t in messages if t["role"] == "user"]
    if not users:
        raise RowProblem('"messages" has no user turn')
    example = {"prompt": users[-1], "answer": messages[-1]["content"]}
    if messages[0]["role"] == "system":
        example["system"] = messages[0]["content"]
    return example


def seed_example(row: dict) -> dict:
    if row.get("messages") is not None:
        return from_messages(row["messages"])
    if isinstance(row.get("prompt"), list):
        if not isinstance(row.get("completion"), list):
            raise RowProblem('"prompt" is a list of turns, so "completion" must be one too')
        return from_messages(row["prompt"] + row["completion"])
    example = {"prompt": first_field(row, ("prompt",), "prompt"), "answer": first_field(row, ANSWER_KEYS, "answer")}
    system = field(row, "system")
    return {**example, "system": system} if system else example


def with_split(record: dict, row: dict, valid: tuple[str, ...]) -> dict:
    """The record with the row's optional "split", which must be one of `valid`."""
    split = row.get("split")
    if split is None:
        return record
    if split not in valid:
        raise RowProblem(f'"split" is {split!r}; valid splits: {", ".join(valid)}')
    return {**record, "split": split}


def pool_prompt(row: dict) -> dict:
    return with_split({"prompt": first_field(row, PROMPT_KEYS, "prompt")}, row, PROMPT_SPLITS)


def document(row: dict, index: int) -> dict:
    doc = {"id": f"doc{index:05d}" if row.get("id") is None else str(row["id"]), "title": field(row, "title") or "",
           "text": first_field(row, ("text",), "document text")}
    return with_split(doc, row, DOCUMENT_SPLITS)


def parse_rows(rows: list[Row], parse: Callable[[dict, int], dict], shapes: str, source: str,
               option: str) -> list[dict]:
    """Every row parsed, or one DataError naming each bad row (file:line: what is wrong) and the valid shapes."""
    parsed, bad = [], []
    for index, row in enumerate(rows, start=1):
        try:
            if row.problem:
                raise RowProblem(row.problem)
            if not isinstance(row.data, dict):
                raise RowProblem(f"expected an object with named fields, got {type(row.data).__name__}")
            parsed.append(parse(row.data, index))
        except RowProblem as problem:
            bad.append(f"  {row.where}: {problem}")
    if bad:
        shown = bad[:MAX_REPORTED]
        more = f"\n  ... and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
        raise DataError(f"{source} ({option}): {len(bad)} of {len(rows)} rows are not valid:\n" + "\n".join(shown)
                        + f"{more}\nexpected rows like {shapes}")
    return parsed


def read_seed_examples(source: str, option: str) -> list[dict]:
    return parse_rows(read_rows(source, option), lambda row, i: seed_example(row), SEED_SHAPES, source, option)


def read_pool_prompts(source: str, option: str) -> list[dict]:
    return parse_rows(read_rows(source, option), lambda row, i: pool_prompt(row), PROMPT_SHAPES, source, option)


def read_documents(source: str, option: str) -> list[dict]:
    return parse_rows(read_rows(source, option), document, DOCUMENT_SHAPES, source, option)
