"""Score one multi-turn result file as BFCL's multi-turn checker does (eval/checker.py), with diagnostics.

    from funreason.eval.score_multi_turn import score_category
    header, failed, records, latencies = score_category(path, "multi_turn_base", "hermes", "my_model", partial=True)

Each step is decoded as BFCL's handler decodes it (eval/step_decode.py); the entries and ground truth are the
installed BFCL's, or a question file's (eval.tasks). A failed entry's row carries BFCL's fields.
"""

from __future__ import annotations

import json
from pathlib import Path

from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.envs.dispatch import LIMIT_COUNTS, call_timer_handler
from funreason.eval import single_turn
from funreason.eval.checker import call_text, check_entry
from funreason.eval.diagnostics import entry_record, flat_numbers
from funreason.eval.format_check import check_format
from funreason.eval.result_rows import NO_ROWS, read_results
from funreason.eval.step_decode import decode_if_possible, decode_result, raw_steps
from tqdm import tqdm


def load_scoring_entries(category: str) -> tuple[list[dict], dict[str, set[str]]]:
    """A category's entries as `bfcl.load_entries(category, language_hint=False)` gives them, minus the
    `function` key the checker never reads, plus each entry's tool names (`function` and held-out docs).

    BFCL's loader re-reads (under a file lock) every involved class's doc file for every entry: ~1 s per 800
    entries, most of a scoring run. Here each doc file is read once; held-out docs are moved out exactly as
    `populate_test_cases_with_predefined_functions` does (first doc of that name, in order)."""

    prompt_file = bfcl.data_files(category)[0]
    docs_by_class: dict[str, list[dict]] = {}
    entries, names = [], {}
    with open(prompt_file, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            function = []
            for cls in entry["involved_classes"]:
                if cls not in docs_by_class:
                    docs_by_class[cls] = bfcl.func_docs([cls])
                function.extend(docs_by_class[cls])
            if "missed_function" in entry:
                for turn, missed in entry["missed_function"].items():
                    entry["missed_function"][turn] = []
                    for name in missed:
                        for i, doc in enumerate(function):
                            if doc["name"] == name:
                                entry["missed_function"][turn].append(function.pop(i))
                                break
            # docs are shared between entries: copies keep one entry's score file independent of another's
            if "missed_function" in entry:
                entry["missed_function"] = json.loads(json.dumps(entry["missed_function"]))
            names[entry["id"]] = _entry_tool_names({**entry, "function": function})
            entries.append(entry)
    return entries, names


def _entry_tool_names(entry: dict) -> set[str]:
    """Every tool an entry offers at some turn: its `function` docs and its held-out (missed_function) docs."""
    held = (entry.get("missed_function") or {}).values()
    return {d["name"] for d in entry.get("function", [])} | {
        d["name"] for docs in held for d in docs if isinstance(d, dict)
    }


def score_category(
    path: Path,
    category: str,
    fmt: str,
    model_name: str,
    partial: bool,
    ground_truth: dict[str, list[list[str]]] | None = None,
    entries: list[dict] | None = None,
    progress: bool = True,
) -> tuple[dict, list[dict], list[dict], list[float]]:
    """Score one result file: (header, failed entries, diagnostic records, per-step latencies). `entries` and
    `ground_truth` default to the installed BFCL's; pass them for entries read from a question file."""

    rows = read_results(path)
    if not rows:
        raise UserError(NO_ROWS.format(path=path))
    check_format(path, raw_steps(rows), fmt, decode_if_possible)
    if entries is None:
        loaded, tool_names = load_scoring_entries(category)
        source = f"BFCL {category}"
    else:
        loaded, tool_names = entries, {e["id"]: _entry_tool_names(e) for e in entries}
        source = f"the question file's {category}"
    entries = {e["id"]: e for e in loaded}
    if ground_truth is None:
        ground_truth = bfcl.load_ground_truth(category)
    single_turn.check_rows(path, rows, entries, category, partial, source)
    for row in rows:
        if row["id"] not in ground_truth:
            raise UserError(f"{path}:{row['_line']}: no ground truth for {row['id']!r} (eval.answer_file?)")
    failed, records, latencies = [], [], []
    with call_timer_handler():  # installed once for the file's thousands of timed tool calls
        for row in tqdm(rows, desc=f"score {model_name}/{category}", leave=False, disable=not progress):
            entry, gt, raw = entries[row["id"]], ground_truth[row["id"]], row["result"]
            decoded = decode_result(raw, fmt)
            stopped_before = sum(LIMIT_COUNTS.values())
            verdict = check_entry(decoded, gt, entry, category)
            record = entry_record(row["id"], category, verdict, raw, decoded, tool_names[row["id"]], row)
            record["calls_stopped_by_limits"] = sum(LIMIT_COUNTS.values()) - stopped_before
            records.append(record)
            latencies += flat_numbers(row.get("latency", []))
            if not verdict["valid"]:
                failed.append(_failed_row(row, entry, gt, decoded, verdict, category, model_name))
    correct = len(rows) - len(failed)
    header = {"accuracy": correct / len(rows) if rows else 0.0, "correct_count": correct, "total_count": len(rows)}
    return header, failed, records, latencies


def _failed_row(row: dict, entry: dict, gt: list, decoded, verdict: dict, category: str, model_name: str) -> dict:
    """A failed entry's line in the score file, with BFCL's fields."""
    raw = row["result"]
    item = {
        "id": row["id"],
        "model_name": model_name,
        "test_category": category,
        "valid": False,
        "error": verdict["error"],
        "prompt": entry,
    }
    if verdict["error_type"] in ("multi_turn:inference_error", "multi_turn:force_terminated"):
        item["model_result"] = raw
    else:
        item["model_result_raw"] = raw
        item["model_result_decoded"] = [[[call_text(c) for c in step] for step in turn] for turn in decoded]
    item["possible_answer"] = gt
    item["inference_log"] = row.get("inference_log", "")
    return item
