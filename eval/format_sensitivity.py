"""BFCL v4's format_sensitivity category: 200 single-turn questions x 26 system-prompt configs, scored per config.

    from funreason.eval import format_sensitivity
    cases = format_sensitivity.load_cases()       # {id: entry}, 5,200 ids format_sensitivity_<i>:<config>:<orig id>
    header, failed = format_sensitivity.score_format_sensitivity(path, "my_model", partial=True, rows=rows)
    format_sensitivity.require_prompting("hermes")  # UserError: BFCL runs it for prompting models only

Result file `<model_dir>/format_sensitivity/BFCL_v4_format_sensitivity_result.json` (rows `{"id", "result"}`,
`result` one prompting-model output); the score file goes to the same sub-folder of the score root. As bfcl-eval
2026.3.23's `format_sensitivity_runner`: each output is decoded in its config's return format, with or without the
<TOOLCALL> tag (`eval.ast_decode.decode_prompting`; nothing is evaluated), and checked as Python by the AST checker
with the original id as the category (so "parallel" / "multiple" in it pick the checker); failed rows carry BFCL's
fields with test_category "format_sensitivity". The header adds to accuracy / correct_count / total_count:
`accuracy_max_delta` (max - min of the per-config accuracies), `accuracy_variance` and `accuracy_std` (sample
statistics), in percentage points rounded to 2 places (0.0 with fewer than two configs), then per config
`{accuracy, correct_count, total_count}`, in the order the configs first appear in id order. The category is not
scored into any group or Overall; the CSVs show its max delta, std and per-config accuracy (eval/csvs.py).

Cases: `BFCL_v4_format_sensitivity.json` lists the ids to use per category; BFCL expands them entry by entry
(category by category, in file order), config by config (`chat.format_sensitivity.CONFIGS` order), numbering the
cases in that order. A failed row's prompt is the case with its docs hinted once, as `bfcl evaluate` loads it
(generation shows them hinted twice: `chat.single_turn.case_messages`).
"""

from __future__ import annotations

import json
import statistics
from functools import cache
from pathlib import Path

from funreason.chat.format_sensitivity import CONFIGS, config_of, parse_config
from funreason.chat.single_turn import functions_for
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval import bfcl_layout as layout
from funreason.eval import single_turn
from funreason.eval.ast_decode import decode_prompting
from funreason.eval.result_rows import NO_ROWS

CATEGORY = layout.FORMAT_SENSITIVITY


def is_case(entry_id: str) -> bool:
    return entry_id.startswith(f"{CATEGORY}_") and entry_id.count(":") == 2


def require_prompting(fmt: str) -> None:
    """BFCL generates format_sensitivity for prompting models only (FC models skip it with a warning)."""
    if fmt != "pythonic":
        raise UserError(
            f"{CATEGORY} runs only in the pythonic (prompting) tool format, as BFCL runs it only for prompting "
            f"models; this run's format is {fmt!r}"
        )


def ids_file() -> Path:
    bfcl.ensure_project_root()
    from bfcl_eval.constants.eval_config import FORMAT_SENSITIVITY_IDS_PATH

    return Path(FORMAT_SENSITIVITY_IDS_PATH)


def source_categories() -> list[str]:
    """The single-turn categories the cases come from, in the ids file's order."""
    with open(ids_file(), encoding="utf-8") as f:
        return [category for category, ids in json.load(f).items() if ids]


@cache
def _load() -> tuple[dict[str, dict], dict[str, list]]:
    """{case id: entry (docs as in BFCL's file, no hint)} and {case id: ground truth}, in BFCL's case order."""
    with open(ids_file(), encoding="utf-8") as f:
        wanted = json.load(f)
    cases, truth = {}, {}
    for category in source_categories():
        entries, gt = single_turn.load_category(category)
        keep = set(wanted[category])
        for orig_id, entry in entries.items():
            if orig_id not in keep:
                continue
            for config in CONFIGS:
                case_id = f"{CATEGORY}_{len(cases)}:{config}:{orig_id}"
                cases[case_id], truth[case_id] = {**entry, "id": case_id}, gt[orig_id]
    return cases, truth


def load_cases() -> dict[str, dict]:
    """A copy of every case, {id: entry} in BFCL's order (callers may modify them)."""
    return json.loads(json.dumps(_load()[0]))


def dataset_size() -> int:
    return len(_load()[0])


def _spread(accuracies: list[float]) -> dict[str, float]:
    if len(accuracies) < 2:
        return {"accuracy_max_delta": 0.0, "accuracy_variance": 0.0, "accuracy_std": 0.0}
    return {
        "accuracy_max_delta": round((max(accuracies) - min(accuracies)) * 100, 2),
        "accuracy_variance": round(statistics.variance(accuracies) * 100**2, 2),
        "accuracy_std": round(statistics.stdev(accuracies) * 100, 2),
    }


def score_format_sensitivity(path: Path, model_name: str, partial: bool, rows: list[dict]) -> tuple[dict, list[dict]]:
    """Score one result file's rows (eval.score.read_results): (header, failed rows in id order)."""
    if not rows:
        raise UserError(NO_ROWS.format(path=path))
    cases, truth = _load()
    single_turn.check_rows(path, rows, cases, CATEGORY, partial)
    failed, counts = [], {}
    for row in sorted(rows, key=lambda r: bfcl.entry_sort_key(r["id"])):
        case_id, raw = row["id"], row["result"]
        config = config_of(case_id)
        c = parse_config(config)
        prompt = {**cases[case_id], "function": functions_for(cases[case_id])}
        verdict = single_turn.evaluate_entry(
            case_id, raw, prompt, truth[case_id], CATEGORY, "pythonic", model_name,
            decoded=decode_prompting(raw, c.return_format, c.tool_call_tag), checker_category=case_id.split(":")[-1],
        )  # fmt: skip
        count = counts.setdefault(config, [0, 0])
        count[0] += verdict["valid"]
        count[1] += 1
        if not verdict["valid"]:
            failed.append(verdict)
    by_config = {
        config: {"accuracy": correct / total, "correct_count": correct, "total_count": total}
        for config, (correct, total) in counts.items()
    }
    correct = len(rows) - len(failed)
    header = {"accuracy": correct / len(rows), "correct_count": correct, "total_count": len(rows)}
    return {**header, **_spread([v["accuracy"] for v in by_config.values()]), **by_config}, failed
