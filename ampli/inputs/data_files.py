"""Rows of a data file in the formats researchers already have, each with where it came from.

Formats: JSONL, JSON arrays, CSV, Parquet, a `datasets` directory written by save_to_disk, and Hugging Face Hub
datasets (`hf:owner/name[:config][:split]`, loaded and cached by `datasets`). Every row keeps its location
(`file:line` for text files, `row N` for Parquet and datasets), so a bad row can be named exactly; rows that are
not even JSON carry their problem instead of data and are reported together with the rows of the wrong shape.
"""

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ampli.record.store import jsonl_lines

HF_PREFIX = "hf:"
BETWEEN_ITEMS = re.compile(r"[\s,]*")
FORMATS = ".jsonl, .json (an array or JSON Lines), .csv, .parquet, a datasets directory (save_to_disk), " \
          "or hf:owner/name[:config][:split]"


class DataError(ValueError):
    """Missing, empty, malformed or too small data; the message names the file (and line) and what was needed."""


@dataclass(frozen=True)
class Row:
    where: str  # "file:line" or "source row N"
    data: Any  # the parsed row; a dict unless the file is wrong
    problem: str | None = None  # set when the row could not be parsed at all


def read_rows(source: str, option: str) -> list[Row]:
    """Every row of `source` (a path or hf:...); `option` is the config key that named it, for error messages."""
    if source.startswith(HF_PREFIX):
        rows = hub_rows(source, option)
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"data file {path} is missing ({option})")
        if path.is_dir():
            rows = disk_rows(path, option)
        elif path.suffix in READERS:
            rows = READERS[path.suffix](path)
        else:
            raise DataError(f"data file {path} ({option}) has an unknown format {path.suffix!r}; use {FORMATS}")
    if not rows:
        raise DataError(f"data file {source} is empty ({option})")
    return rows


def jsonl_rows(path: Path) -> list[Row]:
    rows = []
    for lineno, line in jsonl_lines(path):
        try:
            rows.append(Row(f"{path}:{lineno}", json.loads(line)))
        except json.JSONDecodeError as e:
            rows.append(Row(f"{path}:{lineno}", None, f"malformed JSON line ({e.msg})"))
    return rows


def json_rows(path: Path) -> list[Row]:
    """A JSON array, each element located at the line it starts on; a .json file of JSON Lines also works."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        return jsonl_rows(path)
    try:
        json.loads(text)  # the whole file first: a syntax error is reported at its own line
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from None
    decoder, rows, line, counted = json.JSONDecoder(), [], 1, 0
    pos = text.index("[") + 1
    while True:
        pos = BETWEEN_ITEMS.match(text, pos).end()
        if text[pos] == "]":
            return rows
        line, counted = line + text.count("\n", counted, pos), pos
        item, pos = decoder.raw_decode(text, pos)
        rows.append(Row(f"{path}:{line}", item))


def csv_rows(path: Path) -> list[Row]:
    """Header names the columns; a row is located at the line it starts on (quoted cells may span lines)."""
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not cells:
                continue
            if len(cells) != len(header):
                rows.append(Row(f"{path}:{start}", None, f"{len(cells)} cells under a header of {len(header)}"))
                continue
            rows.append(Row(f"{path}:{start}", {k: v for k, v in zip(header, cells) if v != ""}))
    return rows


def parquet_rows(path: Path) -> list[Row]:
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except pyarrow.ArrowException as e:
        raise DataError(f"{path}: not a readable Parquet file ({e})") from None
    return [Row(f"{path} row {i}", r) for i, r in enumerate(table.to_pylist(), start=1)]


READERS = {".jsonl": jsonl_rows, ".json": json_rows, ".csv": csv_rows, ".parquet": parquet_rows}


def disk_rows(path: Path, option: str) -> list[Row]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError:
        raise DataError(f"{path} ({option}) is a directory but not one written by datasets' save_to_disk; "
                        f"use {FORMATS}") from None
    return dataset_rows(loaded, str(path), option)


def parse_hub_source(source: str) -> tuple[str, str | None, str | None]:
    """hf:owner/name[:config][:split] -> (name, config, split); an empty config (hf:a/b::test) is the default."""
    parts = source[len(HF_PREFIX):].split(":")
    if not parts[0] or len(parts) > 3:
        raise DataError(f"{source!r} is not a Hub dataset name; write hf:owner/name[:config][:split]")
    name, config, split = (parts + ["", ""])[:3]
    return name, config or None, split or None


def hub_rows(source: str, option: str) -> list[Row]:
    import datasets

    name, config, split = parse_hub_source(source)
    try:
        loaded = datasets.load_dataset(name, config, split=split)
    except (OSError, ValueError, datasets.exceptions.DatasetNotFoundError) as e:
        if datasets.config.HF_HUB_OFFLINE:
            raise DataError(
                f"{option}={source}: Hugging Face dataset {name!r} is not in the datasets cache "
                f"({datasets.config.HF_DATASETS_CACHE}) and HF_HUB_OFFLINE=1 forbids downloading it; load it once "
                f"with network (python -c \"import datasets; datasets.load_dataset({name!r}, {config!r})\") "
                f"or save it with save_to_disk and give that directory"
            ) from None
        raise DataError(f"{option}={source}: cannot load Hugging Face dataset {name!r}: {e}") from None
    return dataset_rows(loaded, source, option)


def dataset_rows(loaded, source: str, option: str) -> list[Row]:
    """A Dataset's rows; of a DatasetDict (no split named), its "train" split, else its only one."""
    if hasattr(loaded, "keys"):
        splits = list(loaded.keys())
        split = "train" if "train" in splits else splits[0] if len(splits) == 1 else None
        if split not in splits:
            how = f"name one as in hf:owner/name:config:{splits[0]} (config may be empty)" \
                if source.startswith(HF_PREFIX) else "save_to_disk a single split"
            raise DataError(f"{source} ({option}) has the splits {', '.join(splits)}; {how}")
        loaded, source = loaded[split], f"{source}[{split}]"
    return [Row(f"{source} row {i}", r) for i, r in enumerate(loaded.to_list(), start=1)]
