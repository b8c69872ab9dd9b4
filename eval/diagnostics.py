"""Diagnostics beside the leaderboard numbers (bfcl.md §11.7): why a model fails, not just how often.

    from funreason.eval.diagnostics import entry_record, summarize
    records = [entry_record(...) for each scored entry]
    diag = summarize(records)          # {"overall": {...}, "per_category": {cat: {...}}}

Per model: the share of generation steps that decode to at least one call, the share of decoded calls that name
a tool of the entry, the share of checked turns that pass (replay continues after the first failure), the
histogram of the first failing turn, steps per turn, the error-type histogram, and token counts. These are
extras, never leaderboard numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any


def _sum_nested(value: Any) -> float:
    """Sum BFCL's per-turn, per-step counters (a number, or lists of lists of numbers)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return sum(_sum_nested(v) for v in value)
    return 0


def flat_numbers(value: Any) -> list[float]:
    """Every number in a (nested) latency list; NaN and Infinity (legal in BFCL's JSON reader) are no measurement."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value] if math.isfinite(value) else []
    if isinstance(value, list):
        return [x for v in value for x in flat_numbers(v)]
    return []


def entry_record(
    entry_id: str,
    category: str,
    verdict: dict,
    raw_result: Any,
    decoded: Any,
    tool_names: set[str],
    row: dict,
) -> dict:
    """One entry's diagnostic facts. `decoded[turn]` holds the decoded (non-empty) steps, lists of calls."""
    turns_raw = raw_result if isinstance(raw_result, list) else []
    steps_per_turn = [len(t) if isinstance(t, list) else 0 for t in turns_raw]
    decoded_turns = decoded if isinstance(decoded, list) else []
    calls = [c for turn in decoded_turns for step in turn for c in step]
    names = [c if isinstance(c, str) else c.name for c in calls]
    return {
        "id": entry_id,
        "category": category,
        "valid": bool(verdict["valid"]),
        "error_type": verdict["error_type"],
        "first_failing_turn": verdict["first_failing_turn"],
        "turns": list(verdict["turns"]),
        "steps_per_turn": steps_per_turn,
        "decodable_steps": sum(len(t) for t in decoded_turns),
        "calls": len(names),
        "existing_calls": sum(1 for n in names if n.split("(")[0] in tool_names),
        "input_tokens": _sum_nested(row.get("input_token_count", 0)),
        "output_tokens": _sum_nested(row.get("output_token_count", 0)),
    }


def _share(num: float, den: float) -> float | None:
    return num / den if den else None


def _summary(records: list[dict]) -> dict:
    steps = sum(sum(r["steps_per_turn"]) for r in records)
    calls = sum(r["calls"] for r in records)
    checked = [s for r in records for s in r["turns"] if s is not None]
    first = Counter()
    for r in records:
        if r["valid"]:
            first["passed"] += 1
        elif r["first_failing_turn"] is None:
            first["not replayed (" + (r["error_type"] or "?").split(":")[-1] + ")"] += 1
        else:
            first[str(r["first_failing_turn"])] += 1
    per_turn = [n for r in records for n in r["steps_per_turn"]]
    return {
        "entries": len(records),
        "valid": sum(r["valid"] for r in records),
        "accuracy": _share(sum(r["valid"] for r in records), len(records)),
        "steps": steps,
        "decodable_steps": sum(r["decodable_steps"] for r in records),
        "decodable_call_share": _share(sum(r["decodable_steps"] for r in records), steps),
        "calls": calls,
        "existing_tool_calls": sum(r["existing_calls"] for r in records),
        "existing_tool_share": _share(sum(r["existing_calls"] for r in records), calls),
        "checked_turns": len(checked),
        "turns_passed": sum(s == "pass" for s in checked),
        "turns_passed_share": _share(sum(s == "pass" for s in checked), len(checked)),
        "first_failing_turn": dict(sorted(first.items(), key=lambda kv: (not kv[0].isdigit(), kv[0].zfill(4)))),
        "steps_per_turn_mean": _share(sum(per_turn), len(per_turn)),
        "steps_per_turn_histogram": {str(k): v for k, v in sorted(Counter(per_turn).items())},
        "error_types": dict(Counter(r["error_type"] for r in records if not r["valid"]).most_common()),
        "input_tokens": sum(r["input_tokens"] for r in records),
        "output_tokens": sum(r["output_tokens"] for r in records),
        # replayed calls (model's and ground truth's) stopped by an execution limit (execution: in the recipe)
        "calls_stopped_by_limits": sum(r.get("calls_stopped_by_limits", 0) for r in records),
    }


def summarize(records: list[dict]) -> dict:
    """`{"overall": summary, "per_category": {category: summary}}` over entry records."""
    by_cat: dict[str, list[dict]] = {}
    for r in records:
        by_cat.setdefault(r["category"], []).append(r)
    return {"overall": _summary(records), "per_category": {c: _summary(rs) for c, rs in sorted(by_cat.items())}}
