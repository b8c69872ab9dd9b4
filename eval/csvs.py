"""BFCL's six leaderboard CSVs (`data_overall.csv`, `data_non_live.csv`, `data_live.csv`, `data_multi_turn.csv`,
`data_agentic.csv`, `data_format_sensitivity.csv`), with BFCL's columns and formatting, so our rows paste next to
the leaderboard's.

    from funreason.eval.csvs import write_leaderboard_csvs, groups
    table = {"my-model": {"multi_turn_base": {"accuracy": 0.5, "total_count": 200}, "latency": [1.2, 0.8]}}
    notes = write_leaderboard_csvs(table, out_dir)                 # v4 weights 10/10/10/30/40
    notes = write_leaderboard_csvs(table, out_dir, version="v3")   # v3's formula, on the same category scores
    groups(table["my-model"])["Overall"]                           # {"accuracy", "total_count", "display"}

Mirrors `bfcl_eval.eval_checker.eval_runner_helper.generate_leaderboard_csv` (rows sorted by the summary column
descending, "N/A" rows last, Rank from 1, accuracies as "xx.xx%", cost and latency raw, a plain `",".join`).
Format sensitivity (non-scoring, eval/format_sensitivity.py) comes from its score header: max delta and std, in
percentage points and written raw, in data_overall.csv and data_format_sensitivity.csv, whose rows also show each
config's accuracy and are sorted by max delta, the most format-sensitive model first (as BFCL sorts them); "N/A"
where it was not run.
One deliberate difference (bfcl.md §11.7): BFCL shows a group total (and the v4 Overall) computed with missing
categories counted as 0, a real-looking deflated number; here a group with a missing category is "N/A", and
`write_leaderboard_csvs` returns a note per model that states what is missing and what BFCL would have shown
(for a missing category BFCL counts 0 over the category's full size; `DATASET_SIZES` holds v4's sizes).

Formulas (bfcl.md §1.2-1.3): v4 Non-Live = mean(simple = mean(py, java, js), multiple, parallel, parallel_multiple);
Live = entry-count-weighted over the four live AST categories; Irrelevance = mean(irrelevance, live_irrelevance);
Multi-Turn = mean of 4; Agentic = mean(Web Search, Memory); Overall = 10/10/10/30/40 on those five. v3 (after the
executable categories were retired, commit 65a1c944): Non-Live = mean(simple, multiple, parallel,
parallel_multiple, irrelevance); Live = count-weighted over all six live categories (irrelevance and relevance
included); Overall = mean(Non-Live, Live, Multi-Turn). v3 on v4 data is v3's formula, not v3's numbers: the
multi-turn data changed between them (bfcl.md §1.4).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
from funreason.chat.format_sensitivity import CONFIGS as FORMAT_CONFIGS
from funreason.core.atomic import atomic_write_text
from funreason.eval import bfcl_layout as layout

NA = "N/A"
# the leaderboard's groups of BFCL's categories (eval/bfcl_layout.py): AST ones apart from (ir)relevance detection
MULTI_TURN = list(layout.MULTI_TURN)
NON_LIVE = [c for c in layout.NON_LIVE if "relevance" not in c]
LIVE = [c for c in layout.LIVE if "relevance" not in c]
IRRELEVANCE = ["irrelevance", "live_irrelevance"]
WEB = list(layout.WEB_SEARCH)
MEMORY = list(layout.MEMORY)
H100_X8_PRICE_PER_HOUR = 23.92  # bfcl_eval.constants.eval_config
LOCAL_SERVER_MAX_CONCURRENT_REQUEST = 100
OVERALL_WEIGHTS = {"Non-Live": 10, "Live": 10, "Irrelevance": 10, "Multi-Turn": 30, "Agentic": 40}
OVERALL_V3 = ["Non-Live", "Live", "Multi-Turn"]
VERSIONS = ("v4", "v3")
# bfcl-eval 2026.3.23's entry counts: what BFCL's formula weighs a missing category with (get_category_score)
DATASET_SIZES = {
    "simple_python": 400,
    "simple_java": 100,
    "simple_javascript": 50,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "irrelevance": 240,
    "live_simple": 258,
    "live_multiple": 1053,
    "live_parallel": 16,
    "live_parallel_multiple": 24,
    "live_irrelevance": 884,
    "live_relevance": 16,
    **dict.fromkeys(MULTI_TURN, 200),
    **dict.fromkeys(WEB, 100),
    **dict.fromkeys(MEMORY, 155),
}

COLUMNS_NON_LIVE = [
    "Rank",
    "Model",
    "Non-Live Overall Acc",
    "AST Summary",
    "Simple AST",
    "Python Simple AST",
    "Java Simple AST",
    "JavaScript Simple AST",
    "Multiple AST",
    "Parallel AST",
    "Parallel Multiple AST",
    "Irrelevance Detection",
]
COLUMNS_LIVE = [
    "Rank",
    "Model",
    "Live Overall Acc",
    "AST Summary",
    "Python Simple AST",
    "Python Multiple AST",
    "Python Parallel AST",
    "Python Parallel Multiple AST",
    "Irrelevance Detection",
    "Relevance Detection",
]
COLUMNS_AGENTIC = [
    "Rank",
    "Model",
    "Agentic Overall Acc",
    "Web Search Summary",
    "Web Search Base",
    "Web Search No Snippet",
    "Memory Summary",
    "Memory KV",
    "Memory Vector",
    "Memory Recursive Summarization",
]

COLUMNS_MULTI_TURN = ["Rank", "Model", "Multi Turn Overall Acc", "Base", "Miss Func", "Miss Param", "Long Context"]
COLUMNS_FORMAT_SENS = [
    "Rank", "Model", "Format Sensitivity Max Delta", "Format Sensitivity Standard Deviation",
    *(f"Config {config}" for config in FORMAT_CONFIGS),
]  # fmt: skip
COLUMNS_OVERALL = [
    "Rank", "Overall Acc", "Model", "Model Link", "Total Cost ($)", "Latency Mean (s)",
    "Latency Standard Deviation (s)", "Latency 95th Percentile (s)", "Non-Live AST Acc", "Non-Live Simple AST",
    "Non-Live Multiple AST", "Non-Live Parallel AST", "Non-Live Parallel Multiple AST", "Live Acc", "Live Simple AST",
    "Live Multiple AST", "Live Parallel AST", "Live Parallel Multiple AST", "Multi Turn Acc", "Multi Turn Base",
    "Multi Turn Miss Func", "Multi Turn Miss Param", "Multi Turn Long Context", "Web Search Acc", "Web Search Base",
    "Web Search No Snippet", "Memory Acc", "Memory KV", "Memory Vector", "Memory Recursive Summarization",
    "Relevance Detection", "Irrelevance Detection", "Format Sensitivity Max Delta",
    "Format Sensitivity Standard Deviation", "Organization", "License",
]  # fmt: skip


def _score(value: dict, category: str) -> dict:
    if category in value:
        s = value[category]
        return {"accuracy": s["accuracy"], "total_count": s["total_count"], "display": s["accuracy"]}
    return {"accuracy": 0.0, "total_count": DATASET_SIZES.get(category, 0), "display": NA}


def _combine(scores: list[dict], weights: list[float] | None = None, by_count: bool = False) -> dict:
    """BFCL's unweighted / count-weighted / fixed-weight means; "N/A" whenever a part is N/A (never deflated)."""
    total = sum(s["total_count"] for s in scores)
    if by_count:
        acc = sum(s["accuracy"] * s["total_count"] for s in scores) / total if total else 0.0
    elif weights:
        acc = sum(s["accuracy"] * w for s, w in zip(scores, weights)) / sum(weights)
    else:
        acc = sum(s["accuracy"] for s in scores) / len(scores)
    missing = any(s["display"] == NA for s in scores)
    return {"accuracy": acc, "total_count": total, "display": NA if missing else acc}


def cost_latency(latencies: list[float]) -> tuple:
    """BFCL's local-model cost (Σ latency on 8×H100 at 100 concurrent requests) and latency statistics."""
    data = [x for x in latencies if isinstance(x, (int, float)) and x != 0]
    if not data:
        return NA, NA, NA, NA
    cost = round(sum(data) / 3600 * H100_X8_PRICE_PER_HOUR / LOCAL_SERVER_MAX_CONCURRENT_REQUEST, 2)
    std = round(statistics.stdev(data), 2) if len(data) > 1 else NA
    return cost, round(statistics.mean(data), 2), std, round(float(np.percentile(data, 95)), 2)


def groups(value: dict, version: str = "v4") -> dict[str, dict]:
    """Every leaf and group score BFCL's tables show, for one model; `version` picks v4's or v3's formulas for
    Non-Live, Live and Overall (see the module docstring)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown BFCL score version {version!r}; expected one of {list(VERSIONS)}")
    g = {c: _score(value, c) for c in NON_LIVE + LIVE + IRRELEVANCE + MULTI_TURN + WEB + MEMORY + ["live_relevance"]}
    g["simple"] = _combine([g["simple_python"], g["simple_java"], g["simple_javascript"]])
    g["Non-Live AST"] = _combine([g["simple"], g["multiple"], g["parallel"], g["parallel_multiple"]])
    g["Live AST"] = _combine([g[c] for c in LIVE], by_count=True)
    g["Irrelevance"] = _combine([g[c] for c in IRRELEVANCE])
    g["Multi-Turn"] = _combine([g[c] for c in MULTI_TURN])
    g["Web Search"] = _combine([g[c] for c in WEB])
    g["Memory"] = _combine([g[c] for c in MEMORY])
    g["Agentic"] = _combine([g["Web Search"], g["Memory"]])
    if version == "v4":
        g["Non-Live"], g["Live"] = g["Non-Live AST"], g["Live AST"]
        g["Overall"] = _combine([g[k] for k in OVERALL_WEIGHTS], weights=list(OVERALL_WEIGHTS.values()))
    else:
        g["Non-Live"] = _combine([g["simple"], g["multiple"], g["parallel"], g["parallel_multiple"], g["irrelevance"]])
        g["Live"] = _combine([g[c] for c in [*LIVE, "live_irrelevance", "live_relevance"]], by_count=True)
        g["Overall"] = _combine([g[k] for k in OVERALL_V3])
    return g


def overall_note(value: dict, version: str = "v4") -> str:
    """Say plainly why Overall is or is not shown, and what BFCL's missing-as-zero formula would give."""
    g = groups(value, version)
    parts = OVERALL_WEIGHTS if version == "v4" else OVERALL_V3
    formula = "v4 weights 10/10/10/30/40" if version == "v4" else "v3 formula: mean of Non-Live, Live, Multi-Turn"
    missing = [k for k in parts if g[k]["display"] == NA]
    if not missing:
        return f"Overall ({formula}) = {g['Overall']['accuracy'] * 100:.2f}%"
    note = (
        f"Overall Acc is N/A: groups not (fully) run: {', '.join(missing)}. BFCL's formula counts missing "
        f"categories as 0 and would show a deflated {g['Overall']['accuracy'] * 100:.2f}%."
    )
    without_web = [k for k in parts if k != "Agentic" and g[k]["display"] == NA]
    if version == "v4" and not without_web and g["Memory"]["display"] != NA and g["Web Search"]["display"] == NA:
        note += (
            f" Overall (v4, excl. web search, max 80%) = {g['Overall']['accuracy'] * 100:.2f}% (web search needs "
            "the live internet)."
        )
    return note


def _write(rows: list[list], path: Path, header: list[str], sort_index: int, raw_numeric: tuple[int, ...] = ()) -> None:
    rows.sort(key=lambda r: r[sort_index] if r[sort_index] != NA else -1, reverse=True)
    for i, row in enumerate(rows):
        row[0] = str(i + 1)
        for j in range(1, len(row)):
            if isinstance(row[j], str):
                continue
            row[j] = str(row[j]) if j in raw_numeric else f"{row[j] * 100:.2f}%"
    lines = [",".join(header)] + [",".join(r) for r in rows]
    atomic_write_text(path, "\n".join(lines), durable=False)  # derived from the score files, as they are


CSV_FILES = (
    "data_overall.csv", "data_non_live.csv", "data_live.csv", "data_multi_turn.csv", "data_agentic.csv",
    "data_format_sensitivity.csv",
)  # fmt: skip


def format_sensitivity(value: dict) -> tuple:
    """(max delta, std, [accuracy per config]) from a model's format_sensitivity score header; "N/A" where absent."""
    header = value.get("format_sensitivity", {})
    per_config = [header.get(config, {}).get("accuracy", NA) for config in FORMAT_CONFIGS]
    return header.get("accuracy_max_delta", NA), header.get("accuracy_std", NA), per_config


def write_leaderboard_csvs(
    table: dict[str, dict], out_dir: str | Path, info: dict[str, dict] | None = None, version: str = "v4"
) -> dict[str, str]:
    """Write BFCL's six score CSVs (`CSV_FILES`) under `out_dir`; return `{model: overall note}`.

    `table[model]` maps BFCL category names to `{"accuracy", "total_count"}` (format_sensitivity: its whole score
    header) and may hold `"latency"` (a flat list of per-step seconds). `info[model]` may give `display_name`, `url`, `org`, `license` (default "N/A").
    With `version="v3"` the Non-Live, Live and Overall columns use v3's formulas.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = info or {}
    multi_rows, overall_rows, notes = [], [], {}
    non_live_rows, live_rows, agentic_rows, format_rows = [], [], [], []
    for model, value in table.items():
        meta = info.get(model, {})
        name = meta.get("display_name", model)
        g = groups(value, version)
        d = {k: v["display"] for k, v in g.items()}
        multi_rows.append([NA, name, d["Multi-Turn"], *(d[c] for c in MULTI_TURN)])
        non_live_rows.append(
            [
                NA, name, d["Non-Live"], d["Non-Live AST"], d["simple"], d["simple_python"], d["simple_java"],
                d["simple_javascript"], d["multiple"], d["parallel"], d["parallel_multiple"], d["irrelevance"],
            ]
        )  # fmt: skip
        live_rows.append(
            [NA, name, d["Live"], d["Live AST"], *(d[c] for c in LIVE), d["live_irrelevance"], d["live_relevance"]]
        )
        agentic_rows.append(
            [NA, name, d["Agentic"], d["Web Search"], *(d[c] for c in WEB), d["Memory"], *(d[c] for c in MEMORY)]
        )
        fs_delta, fs_std, fs_configs = format_sensitivity(value)
        format_rows.append([NA, name, fs_delta, fs_std, *fs_configs])
        cost, mean, std, p95 = cost_latency(value.get("latency", []))
        overall_rows.append(
            [
                NA, d["Overall"], name, meta.get("url", NA), cost, mean, std, p95,
                d["Non-Live AST" if version == "v4" else "Non-Live"], d["simple"], d["multiple"], d["parallel"],
                d["parallel_multiple"],
                d["Live"], *(d[c] for c in LIVE),
                d["Multi-Turn"], *(d[c] for c in MULTI_TURN),
                d["Web Search"], *(d[c] for c in WEB), d["Memory"], *(d[c] for c in MEMORY),
                d["live_relevance"], d["Irrelevance"], fs_delta, fs_std, meta.get("org", NA), meta.get("license", NA),
            ]
        )  # fmt: skip
        notes[model] = overall_note(value, version)
    _write(multi_rows, out / "data_multi_turn.csv", COLUMNS_MULTI_TURN, 2)
    _write(non_live_rows, out / "data_non_live.csv", COLUMNS_NON_LIVE, 2)
    _write(live_rows, out / "data_live.csv", COLUMNS_LIVE, 2)
    _write(agentic_rows, out / "data_agentic.csv", COLUMNS_AGENTIC, 2)
    _write(format_rows, out / "data_format_sensitivity.csv", COLUMNS_FORMAT_SENS, 2, raw_numeric=(2, 3))
    _write(overall_rows, out / "data_overall.csv", COLUMNS_OVERALL, 1, raw_numeric=(4, 5, 6, 7, 32, 33))
    return notes
