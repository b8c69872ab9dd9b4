"""The report's single-turn and agentic sections: measured rows beside quoted paper rows, a chart per group; the
v4 groups table shows format sensitivity's max delta and std where it ran (N/A otherwise); BFCL's six CSVs.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_report_groups.py
"""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

from funreason.eval import agentic, format_sensitivity
from funreason.eval.bfcl_layout import group_of
from funreason.eval.paper import AGENTIC_ROWS, LEADERBOARD_V4_ROWS, SINGLE_TURN_ROWS
from funreason.eval.report import QUOTED, QUOTED_V4, build_report
from funreason.eval.score import score_results
from funreason.eval.single_turn import load_category

from tests.bfcl_ast_damage import model_output


def _write(model_dir: Path, sub: str, category: str, rows: list[dict]) -> None:
    d = model_dir / sub
    d.mkdir(parents=True, exist_ok=True)
    (d / f"BFCL_v4_{category}_result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _label(run: Path, label: str, frozen_corpus: bool) -> None:
    out = run / "eval" / label
    model = out / "result" / label
    rng = random.Random(0)
    for category in ["simple_python", "multiple", "live_simple", "irrelevance"]:
        entries, gt = load_category(category)
        ids = list(entries)[:20]
        if category == "irrelevance":
            rows = [{"id": i, "result": "No function fits."} for i in ids]
        else:
            rows = [{"id": i, "result": model_output(entries[i], gt[i], "pythonic", rng, kind="none")} for i in ids]
        _write(model, group_of(category), category, rows)
    for category in ["memory_kv", "web_search_base"]:
        entries, answers = agentic._load(category)
        rows = [{"id": i, "result": [[f"It is {answers[i][0]}."]]} for i in list(entries)[:10]]
        _write(model, group_of(category), category, rows)
    if frozen_corpus:  # sft also ran format sensitivity: one question in all 26 configs, always answered in Python
        cases = list(format_sensitivity.load_cases().values())[:26]
        entries, gt = load_category("simple_python")
        orig = cases[0]["id"].split(":")[-1]
        answer = model_output(entries[orig], gt[orig], "pythonic", rng, kind="none")
        _write(model, "format_sensitivity", "format_sensitivity", [{"id": c["id"], "result": answer} for c in cases])
    score_results(out / "result", out / "score", "pythonic")
    meta = {"label": label, "tool_format": "pythonic"}
    if frozen_corpus:
        meta["web_search_corpus"] = "/data/corpus-2026-11.jsonl"
    (out / "metadata.json").write_text(json.dumps(meta))


def test_single_turn_and_agentic_sections_place_measured_rows_among_quoted_ones(tmp_path):
    run = tmp_path / "run"
    _label(run, "base", frozen_corpus=False)
    _label(run, "sft", frozen_corpus=True)
    summary = build_report([run], tmp_path / "report", title="T")
    md = Path(summary["report_md"]).read_text()
    single = md.split("## Single-turn")[1].split("## Agentic")[0]
    agentic_part = md.split("## Agentic")[1].split("## Diagnostics")[0]
    for name, *values in SINGLE_TURN_ROWS:
        assert f"| {name} | {QUOTED} | " + " | ".join(f"{v:.2f}" for v in values) in single
    for name, *values in AGENTIC_ROWS:
        assert f"| {name} | {QUOTED} | " + " | ".join(f"{v:.2f}" for v in values) in agentic_part
    # measured rows: categories run on a subset, so group scores that need a missing category are N/A
    assert "| base | measured | N/A | N/A | N/A |" in single  # Non-Live lacks java/js/parallel: not a deflated mean
    # web_search_base and memory_kv ran (on 10 entries each): their columns, and N/A for every mean that needs more
    assert "| base | measured | N/A | N/A | 100.00 | N/A | N/A | 100.00 | N/A | N/A |" in agentic_part
    assert "sft (web search: frozen corpus corpus-2026-11.jsonl, not comparable) | measured" in agentic_part
    overall = md.split("## BFCL v4 groups")[1].split("## Single-turn")[0]
    assert "| base | measured | N/A |" in overall
    # format sensitivity: sft's plain Python answers pass the 5 python configs without the tag, fail the other 21
    base_row = next(line for line in overall.splitlines() if line.startswith("| base | measured"))
    sft_row = next(line for line in overall.splitlines() if line.startswith("| sft | measured"))
    std = statistics.stdev([1.0] * 5 + [0.0] * 21) * 100
    assert base_row.endswith("| N/A | N/A |") and sft_row.endswith(f"| 100.00 | {std:.2f} |"), sft_row
    assert "FS Max Delta | FS Std |" in overall and "| – | – |" in overall
    assert "BFCL's six CSVs" in md and "`data_format_sensitivity.csv`" in md
    # the leaderboard's own small-model rows sit under the measured ones, in both tables, labelled as quoted
    leaderboard = md.split("## Leaderboard")[1].split("## BFCL v4 groups")[0]
    for r in LEADERBOARD_V4_ROWS:
        assert f"| {r.model} | {QUOTED_V4} | {r.overall:.2f} | {r.non_live:.2f} |" in overall
        assert f"| {r.model} | {QUOTED_V4} | {r.multi_turn:.2f} | {r.base:.2f} |" in leaderboard
    assert overall.index("| sft | measured") < overall.index(f"| {QUOTED_V4} |")
    for chart in summary["charts"]:
        assert Path(chart).stat().st_size > 10_000
    assert {Path(c).name for c in summary["charts"]} == {"report.png", "report_single_turn.png", "report_agentic.png"}
    assert all(Path(c).exists() for c in summary["csv"]) and len(summary["csv"]) == 6
