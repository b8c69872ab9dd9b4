"""The report's rows: one record per evaluated model, read from what eval.pipeline and eval.score wrote, and the
cell formats and labels the report's tables and charts share (eval.report, eval.report_tables, eval.report_charts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.core.layout import RunLayout
from funreason.eval.csvs import MULTI_TURN
from funreason.eval.score import read_score_tables

SHORT = {"multi_turn_base": "Base", "multi_turn_miss_func": "Miss Func", "multi_turn_miss_param": "Miss Param"}
SHORT["multi_turn_long_context"] = "Long Ctx"
ORDER = {"base": 0, "sft": 1, "grpo": 2}
QUOTED = "quoted, not measured"
QUOTED_V4 = "quoted: BFCL v4 leaderboard"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def collect_labels(run_dirs: list[Path]) -> list[dict]:
    """One record per evaluated model: `{name, dir, scores: {cat: header}, metadata, diagnostics}`."""
    labels = []
    for run_dir in run_dirs:
        eval_dir = RunLayout.at(run_dir).eval_root
        if not eval_dir.is_dir():
            continue
        for d in sorted(eval_dir.iterdir(), key=lambda p: (ORDER.get(p.name, 9), p.name)):
            if not (d / "score").is_dir():
                continue
            meta = _read_json(d / "metadata.json") if (d / "metadata.json").is_file() else {}
            tables = read_score_tables(d / "score")
            scores = {cat: h for table in tables.values() for cat, h in table.items()}
            diag_files = sorted((d / "score").glob("*/diagnostics.json"))
            diagnostics = _read_json(diag_files[0]) if diag_files else {}
            diagnostics.pop("records", None)
            labels.append({"name": meta.get("label", d.name), "run": run_dir.name, "dir": str(d), "scores": scores,
                           "metadata": meta, "diagnostics": diagnostics})  # fmt: skip
    names = [x["name"] for x in labels]
    for x in labels:
        if names.count(x["name"]) > 1:
            x["name"] = f"{x['run']}/{x['name']}"
    return labels


def _pct(value: Any) -> str:
    return "N/A" if value is None or value == "N/A" else f"{value * 100:.2f}"


def _share(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _non_comparable(x: dict) -> str:
    """Web search run against a frozen corpus (metadata `web_search_corpus`, set by the runner) is not the live web."""
    corpus = x["metadata"].get("web_search_corpus")
    return f" (web search: frozen corpus {Path(str(corpus)).name}, not comparable)" if corpus else ""


def own_categories(labels: list[dict]) -> list[str]:
    """Multi-turn categories of question files of our own (synth/heldout.py's `synthtest`), in first-seen order."""
    cats: list[str] = []
    for x in labels:
        for cat in x["scores"]:
            if cat.startswith("multi_turn_") and cat not in MULTI_TURN and cat not in cats:
                cats.append(cat)
    return cats
