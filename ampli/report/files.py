"""Atomic file writes, so an interrupted report never leaves a half-written table or image behind."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pandas as pd


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:  # normal permissions, unlike mkstemp's 0600
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV or Parquet, chosen by the file's suffix."""
    if path.suffix == ".csv":
        data = frame.to_csv(index=False).encode()
    elif path.suffix == ".parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        raise ValueError(f"cannot write a table to {path}: the suffix {path.suffix!r} is neither .csv nor .parquet")
    atomic_write_bytes(path, data)
