"""Contamination check: word n-gram overlap between synthesized user queries and BFCL test questions.

    from funreason.synth.contamination import bfcl_reference_ngrams, check_records
    report = check_records(records, n=8)       # {"n", "queries", "overlapping_queries", "clean", "examples"}

A run is called *clean* only when no synthesized query shares a single n-gram with any BFCL question (all
categories of the installed bfcl_eval data, single- and multi-turn). Text is lower-cased and split on
non-alphanumerics, so punctuation and case changes do not hide a copy.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path

from funreason.envs.bfcl import ensure_project_root

_TOKEN = re.compile(r"[a-z0-9]+")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _TOKEN.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _question_texts(entry: dict) -> Iterable[str]:
    question = entry.get("question", [])
    stack = list(question) if isinstance(question, list) else [question]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict) and isinstance(item.get("content"), str):
            yield item["content"]
        elif isinstance(item, str):
            yield item


def _entries(text: str) -> list[dict]:
    """JSON Lines (the question files) or one JSON document (a few auxiliary files)."""
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        data = json.loads(text)
        return [e for e in (data if isinstance(data, list) else [data]) if isinstance(e, dict)]


@functools.lru_cache(maxsize=4)
def bfcl_reference_ngrams(n: int = 8) -> frozenset:
    """Every n-gram of every user message in the installed BFCL question files."""

    ensure_project_root()
    import bfcl_eval

    data = Path(bfcl_eval.__file__).parent / "data"
    grams: set = set()
    for path in sorted(data.glob("BFCL_v*_*.json")):
        for entry in _entries(path.read_text()):
            for text in _question_texts(entry):
                grams |= ngrams(text, n)
    return frozenset(grams)


def record_queries(record: dict) -> list[str]:
    return [m["content"] for m in record["messages"] if m["role"] == "user"]


def check_queries(queries: list[str], n: int = 8, reference: frozenset | None = None) -> dict:
    reference = bfcl_reference_ngrams(n) if reference is None else reference
    hits = []
    for query in queries:
        shared = ngrams(query, n) & reference
        if shared:
            hits.append({"query": query[:300], "shared": [" ".join(g) for g in sorted(shared)[:3]]})
    return {
        "n": n,
        "queries": len(queries),
        "overlapping_queries": len(hits),
        "clean": not hits,
        "examples": hits[:10],
    }


def check_records(records: Iterable[dict], n: int = 8) -> dict:
    return check_queries([q for r in records for q in record_queries(r)], n=n)
