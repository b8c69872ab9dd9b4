"""JSON Lines reading: errors name the file and the line.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/core/test_jsonl.py
"""

from __future__ import annotations

import pytest
from funreason.core.jsonl import JsonlError, iter_jsonl


def test_non_utf8_jsonl_names_file_and_line(tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_bytes(b'{"a": 1}\n{"b": "caf\xe9"}\n')
    with pytest.raises(JsonlError, match=r"rows\.jsonl:2: not UTF-8 text"):
        list(iter_jsonl(f))
