"""Score BFCL v4's agentic result files (memory_kv / memory_vector / memory_rec_sum, web_search_*) as BFCL does.

    from funreason.eval.agentic import score_agentic
    from funreason.eval.score import decode_step
    header, failed = score_agentic(path, "memory_kv", "hermes", "m", partial=True, rows=rows, decode_step=decode_step)

Files: `<model_dir>/agentic/memory/<kv|vector|rec_sum>/BFCL_v4_memory_<backend>_result.json` and
`<model_dir>/agentic/BFCL_v4_web_search_<base|no_snippet>_result.json`; a row's `result` is one turn of steps.
Reproduces `eval_runner._evaluate_single_agentic_entry` + `agentic_checker` (bfcl-eval 2026.3.23): the result must
be a list of exactly one turn (`agentic:inference_error`); every step is decoded as the multi-turn scorer decodes
it (eval.score.decode_step), and the last step that is not a call (does not decode, or decodes to nothing) is the
answer; none, or an empty one, is `agentic:no_last_message`; otherwise the answer passes when a standardized
ground-truth answer appears in it between word boundaries (`agentic:answer_not_found`). The `{'answer', 'context'}`
format BFCL asks for is not enforced, as in BFCL.

Memory prerequisite files (`..._prereq_result.json`) are conversations that fill memory; BFCL does not score them.
Web-search answers depend on the live web the model searched: a score from a frozen corpus is not comparable.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval import bfcl_layout as layout
from funreason.eval.bfcl_layout import MEMORY

CATEGORIES = layout.AGENTIC
_STANDARDIZE = re.compile(r"[\,\.\/\-\_\*\^\(\)]")


def standardize_string(text: str) -> str:
    """BFCL's agentic standardization: drop ",./-_*^()", lowercase, single quotes to double (spaces stay)."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def agentic_check(model_response: Any, possible_answers: list[str]) -> dict:
    """BFCL's `agentic_checker`."""
    standardized = [standardize_string(a) for a in possible_answers]
    if type(model_response) is list:
        model_response = model_response[0]  # BFCL: "sometimes the model response is a list of one string"
    if type(model_response) is not str:
        model_response = str(model_response)
    response = standardize_string(model_response)
    for answer in standardized:
        if re.search(rf"\b{re.escape(answer)}\b", response):
            return {"valid": True, "error": []}
    return {
        "valid": False,
        "error_message": "None of the expected answers were found in the model response.",
        "error_type": "agentic:answer_not_found",
        "details": {
            "model_response": model_response,
            "possible_answers": possible_answers,
            "standardized_model_response": response,
            "standardized_possible_answers": standardized,
        },
    }


@cache
def _load(category: str) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """{id: entry} and {id: answers} with BFCL's per-backend ids (memory_kv_0-customer-0, web_search_base_0)."""

    bfcl.ensure_project_root()
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH

    stem, prefix = ("memory", "memory") if category in MEMORY else ("web_search", "web_search")

    def read(path: Path) -> list[dict]:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    entries = read(Path(PROMPT_PATH) / layout.data_file_name(stem))
    answers = read(Path(POSSIBLE_ANSWER_PATH) / layout.data_file_name(stem))
    out_entries, out_answers = {}, {}
    for entry, answer in zip(entries, answers):  # aligned by position, as BFCL aligns them
        entry_id = entry["id"].replace(prefix, category)
        out_entries[entry_id] = {**entry, "id": entry_id}
        out_answers[entry_id] = answer["ground_truth"]
    return out_entries, out_answers


def dataset_size(category: str) -> int:
    return len(_load(category)[0])


def evaluate_entry(
    entry_id: str, raw: Any, entry: dict, answers: list[str], category: str, fmt: str, model_name: str, decode_step
) -> dict:
    """`{"valid": True}` or BFCL's failed-entry row. `decode_step(raw, fmt)` is the scorer's step decoder (call
    strings, or None for a step that does not decode or holds no call: eval.score.decode_step)."""
    base = {"id": entry_id, "model_name": model_name, "test_category": category, "valid": False}
    if type(raw) is not list or len(raw) != 1:
        message = layout.INFERENCE_ERROR_VERDICT
        return {
            **base, "error": {"error_message": [message], "error_type": "agentic:inference_error"},
            "prompt": entry, "model_result": raw, "possible_answer": answers,
        }  # fmt: skip
    decoded, last = [], None
    steps = raw[0] if isinstance(raw[0], list) else None
    if steps is None:  # BFCL iterates whatever the turn is; a non-list turn cannot hold steps we decode
        steps = list(raw[0]) if isinstance(raw[0], (str, dict)) else []
    for step in steps:
        calls = decode_step(step, fmt)
        if calls is None:
            last = step
        else:
            decoded.append(calls)
    if not last:
        message = "Cannot find the last chat message that is not a function call."
        return {
            **base, "error": {"error_message": [message], "error_type": "agentic:no_last_message"},
            "prompt": entry, "model_result": raw, "model_result_decoded": decoded, "possible_answer": answers,
        }  # fmt: skip
    verdict = agentic_check(last, answers)
    if verdict["valid"]:
        return {"valid": True}
    verdict.pop("valid")
    return {
        **base, "error": verdict, "prompt": entry["question"], "model_result_raw": raw,
        "last_non_fc_message": last, "possible_answer": answers,
    }  # fmt: skip


def score_agentic(
    path: Path, category: str, fmt: str, model_name: str, partial: bool, rows: list[dict], decode_step
) -> tuple[dict, list[dict]]:
    """Score one agentic result file's rows: (header, failed rows)."""
    if category not in CATEGORIES:
        raise UserError(f"unknown BFCL agentic category {category!r}; expected one of {list(CATEGORIES)}")
    entries, answers = _load(category)
    for row in rows:
        if row["id"] not in entries:
            raise UserError(f"{path}:{row['_line']}: id {row['id']!r} is not an entry of BFCL {category}")
    if not partial and len(rows) != len(entries):
        missing = [i for i in entries if i not in {r["id"] for r in rows}]
        raise UserError(
            f"{path}: {len(rows)} result rows for {len(entries)} entries of {category} (missing e.g. "
            f"{', '.join(missing[:3])}); pass --partial-eval to score only the rows present"
        )
    order = {entry_id: i for i, entry_id in enumerate(entries)}
    failed = []
    for row in sorted(rows, key=lambda r: order[r["id"]]):
        verdict = evaluate_entry(
            row["id"], row["result"], entries[row["id"]], answers[row["id"]], category, fmt, model_name, decode_step
        )
        if not verdict["valid"]:
            failed.append(verdict)
    correct = len(rows) - len(failed)
    return {"accuracy": correct / len(rows), "correct_count": correct, "total_count": len(rows)}, failed
