"""The append-only BFCL result file every episode kind writes through (eval/runner.py).

    writer = ResultWriter(path, resume=True)   # keeps the complete rows of a killed run, drops a torn last line
    writer.append(row)                         # one fsynced JSON line per finished entry
    writer.finish()                            # the file rewritten sorted by id, atomically

The resume rule, for every kind: an entry is done when its row is in the file; nothing else is remembered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from funreason.core.atomic import atomic_write_text
from funreason.core.jsonl import iter_jsonl
from funreason.envs import bfcl


class ResultWriter:
    """Append-only JSONL result file: one fsynced row per finished entry; resumable; sorted on completion."""

    def __init__(self, path: Path, resume: bool):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, dict] = {}
        if resume and path.exists():
            for _, row in iter_jsonl(path, bad_lines="keep"):  # a BadLine: the torn tail of a killed run
                if isinstance(row, dict) and "id" in row:
                    self.rows[row["id"]] = row
        self._rewrite(sort=False)  # drops a torn line (or starts afresh without resume)
        self._f = open(path, "a", encoding="utf-8")

    def _rewrite(self, sort: bool) -> None:
        rows = (
            sorted(self.rows.values(), key=lambda r: bfcl.entry_sort_key(r["id"])) if sort else list(self.rows.values())
        )
        atomic_write_text(self.path, "".join(json.dumps(row, default=str) + "\n" for row in rows))

    def append(self, row: dict) -> None:
        self.rows[row["id"]] = row
        self._f.write(json.dumps(row, default=str) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def finish(self) -> None:
        self._f.close()
        self._rewrite(sort=True)
