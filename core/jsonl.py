"""JSON Lines files (results, datasets, shards) with errors that name the file and line, and `jsonable`.

for lineno, row in iter_jsonl(path):
    ...
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import UserError


class JsonlError(UserError):
    """A line of a JSON Lines file is not valid JSON."""


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(1-based line number, parsed value) for every non-blank line; a bad line (not JSON, not UTF-8) raises
    JsonlError naming it."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise JsonlError(f"{path}:{lineno}: not UTF-8 text (byte {e.start} of the line)") from None
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise JsonlError(f"{path}:{lineno}: not valid JSON ({e.msg} at column {e.colno})") from None


def jsonable(value: Any) -> Any:
    """BFCL's `make_json_serializable` (containers rebuilt, so the result is a snapshot; leaves JSON can't hold
    become `str()`), plus one safety BFCL lacks: dict keys JSON can't hold become `str()` too, so the value can
    always be written."""
    if isinstance(value, dict):
        return {
            k if k is None or isinstance(k, (str, int, float, bool)) else str(k): jsonable(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    try:
        json.dumps(value, ensure_ascii=False)
        return value
    except (TypeError, ValueError):
        return str(value)
