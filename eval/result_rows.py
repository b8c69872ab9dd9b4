"""Read a BFCL result file's rows for scoring.

    from funreason.eval.result_rows import read_results
    rows = read_results(path)   # [{"id", "result", ..., "_line"}], sorted by BFCL's id order

Any malformed line, a row without "id" or "result", a non-string id or a repeated id is a UserError naming the
file and the line: a broken file is never scored as a model failure.
"""

from __future__ import annotations

from pathlib import Path

from funreason.core.errors import UserError
from funreason.core.jsonl import iter_jsonl
from funreason.envs import bfcl

NO_ROWS = "{path}: no result rows (an empty file would score as a real-looking 0%)"


def read_results(path: Path) -> list[dict]:
    """Read a result file; any malformed line is a UserError naming the file and line."""
    rows, seen = [], {}
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or "id" not in row or "result" not in row:
            raise UserError(f'{path}:{lineno}: a result row must be an object with "id" and "result" keys')
        if not isinstance(row["id"], str):
            raise UserError(f'{path}:{lineno}: "id" must be a string, got {type(row["id"]).__name__}')
        if row["id"] in seen:
            raise UserError(f"{path}:{lineno}: duplicate id {row['id']!r} (first on line {seen[row['id']]})")
        seen[row["id"]] = lineno
        row["_line"] = lineno
        rows.append(row)
    return sorted(rows, key=lambda r: bfcl.entry_sort_key(r["id"]))
