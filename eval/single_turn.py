"""Score BFCL's single-turn result files (non-live and live AST, irrelevance, relevance) as `bfcl evaluate` does.

    from funreason.eval.single_turn import score_single_turn
    header, failed = score_single_turn(path, "simple_java", fmt="pythonic", model_name="my_model", partial=True)

A result file is `<model_dir>/<non_live|live>/BFCL_v4_<category>_result.json`, JSON Lines `{"id", "result"}` where
`result` is one model output: a string (pythonic, hermes) or a list of `{name: "<JSON args>"}` (fc). Each is decoded
by eval/ast_decode.py and checked by eval/ast_checker.py, reproducing `eval_runner._evaluate_single_ast_entry` and
`_evaluate_single_relevance_entry`: a decode failure is `ast_decoder:decoder_failed`, a decode that is not a list of
`{name: {args}}` is `ast_decoder:decoder_wrong_output_format`; (ir)relevance entries pass when the output holds (no)
call, decoded as Python whatever the category. Failed rows carry BFCL's fields; decode-error messages are ours
(BFCL prints its own exception text there).

Executable categories (exec_*, rest, sql, chatable) are not scored: they call live services, and BFCL retired them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval.ast_checker import ast_check, language_of
from funreason.eval.ast_decode import decode_ast, is_empty_output, is_function_calling_format_output
from funreason.eval.bfcl_layout import SINGLE_TURN as CATEGORIES
from funreason.eval.bfcl_layout import V3_NAMES, data_file_name

WRONG_FORMAT = (
    "Did not output in the specified format. Note: the model_result is wrapped in a string to ensure json "
    "serializability."
)


def category_name(category: str) -> str:
    """A single-turn category's v4 name (v3's `simple`/`java`/`javascript` accepted); UserError otherwise."""
    name = V3_NAMES.get(category, category)
    if name not in CATEGORIES:
        raise UserError(f"unknown BFCL single-turn category {category!r}; expected one of {list(CATEGORIES)}")
    return name


def is_relevance(category: str) -> bool:
    return "relevance" in category  # BFCL: "relevance" or "irrelevance" in the name


@cache
def _load(category: str) -> tuple[dict[str, dict], dict[str, list]]:
    """{id: entry} (BFCL's file as is: `function` without the language hint, as `bfcl evaluate` loads it) and
    {id: ground truth}, aligned by position as BFCL aligns them; cached (the files do not change in a process)."""

    bfcl.ensure_project_root()
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH

    def read(path: Path) -> list[dict]:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    entries = read(Path(PROMPT_PATH) / data_file_name(category))
    answers = Path(POSSIBLE_ANSWER_PATH) / data_file_name(category)
    truth = read(answers) if not is_relevance(category) else []
    gt = {e["id"]: t["ground_truth"] for e, t in zip(entries, truth)}
    return {e["id"]: e for e in entries}, gt


def load_category(category: str) -> tuple[dict[str, dict], dict[str, list]]:
    """Copies of a category's entries and ground truth (callers may modify them)."""
    entries, gt = _load(category_name(category))
    return json.loads(json.dumps(entries)), json.loads(json.dumps(gt))


def decode_language(category: str) -> str:
    """The language BFCL decodes a category's outputs in: relevance categories always as Python."""
    return "python" if is_relevance(category) else language_of(category)


def detect_underscore_to_dot(
    rows_by_category: dict[str, list[dict]], fmt: str, decoded: dict[str, list[tuple]] | None = None
) -> bool | None:
    """Whether a model's answers name dotted functions with underscores (`math_factorial` for `math.factorial`), as
    API FC models must, from its own outputs: True / False by majority, None without evidence. BFCL reads the same
    fact from its model registry, which a user's result files do not come with."""
    dotted = underscored = 0
    for category, rows in rows_by_category.items():
        entries, _ = _load(category_name(category))
        given = (decoded or {}).get(category)
        for i, row in enumerate(rows):
            entry = entries.get(row.get("id"))
            out, error = given[i] if given is not None else decode_ast(row.get("result"), fmt)
            if entry is None or error is not None or not isinstance(out, list):
                continue
            names = {f["name"] for f in entry.get("function", []) if "." in f["name"]}
            for call in out:
                name = next(iter(call), None) if isinstance(call, dict) else None
                dotted += name in names
                underscored += name in {n.replace(".", "_") for n in names}
    if dotted == underscored:
        return None
    return underscored > dotted


def dataset_size(category: str) -> int:
    return len(_load(category_name(category))[0])


def evaluate_entry(
    entry_id: str,
    raw: Any,
    entry: dict,
    ground_truth: list | None,
    category: str,
    fmt: str,
    model_name: str,
    underscore_to_dot: bool = False,
    decoded: tuple | None = None,
    checker_category: str | None = None,
) -> dict:
    """One entry's verdict: `{"valid": True}` or BFCL's failed-entry row. `decoded` is `decode_ast`'s answer for
    this output in the category's language, where the caller has it already. `checker_category` is the name the
    AST checker dispatches on, where it is not `category` (format_sensitivity: the original entry's id)."""
    base = {"id": entry_id, "model_name": model_name, "test_category": category, "valid": False}
    decoded, error = decoded or decode_ast(raw, fmt, decode_language(category))
    if is_relevance(category):
        has_call = error is None and not is_empty_output(decoded)
        if has_call != ("irrelevance" in category):
            return {"valid": True}
        row = {**base, "prompt": entry, "model_result": raw, "decoded_result": decoded}
        if "irrelevance" in category:
            row["error"] = ["Valid syntax. Successfully decode AST when it should not."]
            row["error_type"] = "irrelevance_error:decoder_success"
        else:
            row["error"] = [f"Invalid syntax. Failed to decode AST when it should have. {error}"]
            row["error_type"] = "relevance_error:decoder_failed"
        return row

    if error is not None:
        return {
            **base,
            "error": [f"Invalid syntax. Failed to decode AST. {error}"],
            "error_type": "ast_decoder:decoder_failed",
            "prompt": entry,
            "model_result_raw": raw,
            "possible_answer": ground_truth,
        }
    if not is_function_calling_format_output(decoded):
        return {
            **base,
            "error": [WRONG_FORMAT],
            "error_type": "ast_decoder:decoder_wrong_output_format",
            "prompt": entry,
            "model_result_raw": str(raw),
            "model_result_decoded": str(decoded),
            "possible_answer": ground_truth,
        }
    checked_as = checker_category or category
    verdict = ast_check(entry["function"], decoded, ground_truth, language_of(category), checked_as, underscore_to_dot)
    if verdict["valid"]:
        return {"valid": True}
    return {
        **base,
        "error": verdict["error"],
        "error_type": verdict["error_type"],
        "prompt": entry,
        "model_result_raw": raw,
        "model_result_decoded": decoded,
        "possible_answer": ground_truth,
    }


def check_rows(
    path: Path, rows: list[dict], entries: dict, category: str, partial: bool, source: str | None = None
) -> None:
    """Every row answers an entry of the category and, unless `partial`, every entry has a row (`bfcl evaluate`
    without --partial-eval); UserError naming the file otherwise. `source` names where the entries come from in
    the message (default: BFCL's category). Every scorer (multi-turn, single-turn, format sensitivity) checks here."""
    source = source or f"BFCL {category}"
    for row in rows:
        if row["id"] not in entries:
            raise UserError(f"{path}:{row['_line']}: id {row['id']!r} is not an entry of {source}")
    if not partial and len(rows) != len(entries):
        missing = sorted(set(entries) - {r["id"] for r in rows}, key=bfcl.entry_sort_key)
        raise UserError(
            f"{path}: {len(rows)} result rows for {len(entries)} entries of {category} (missing e.g. "
            f"{', '.join(missing[:3])}); pass --partial-eval to score only the rows present"
        )


def score_single_turn(
    path: Path,
    category: str,
    fmt: str,
    model_name: str,
    partial: bool,
    rows: list[dict],
    underscore_to_dot: bool = False,
    decoded: list[tuple] | None = None,
) -> tuple[dict, list[dict]]:
    """Score one result file's rows (eval.score.read_results): (header, failed rows in id order). `decoded[i]`,
    if given, is `decode_ast(rows[i]["result"], fmt, decode_language(category))`."""
    category = category_name(category)
    entries, gt = _load(category)
    check_rows(path, rows, entries, category, partial)
    failed = []
    decoded = decoded or [None] * len(rows)
    for i in sorted(range(len(rows)), key=lambda i: bfcl.entry_sort_key(rows[i]["id"])):
        row = rows[i]
        verdict = evaluate_entry(
            row["id"], row["result"], entries[row["id"]], gt.get(row["id"]), category, fmt, model_name,
            underscore_to_dot, decoded[i],
        )  # fmt: skip
        if not verdict["valid"]:
            failed.append(verdict)
    correct = len(rows) - len(failed)
    header = {"accuracy": correct / len(rows), "correct_count": correct, "total_count": len(rows)}
    return header, failed
