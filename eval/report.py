"""Leaderboard-style report over evaluated models: report.md, report.png, CSVs, report.json.

    funreason report runs/smoke                      # writes runs/smoke/report/
    funreason report runs/a runs/b --out cmp/        # several runs side by side
    from funreason.eval.report import run_report_stage         # what `funreason run` calls for the report stage

Every `<run_dir>/eval/<label>/` that holds a BFCL `score/` tree (written by eval.score) is one row; its
`metadata.json` (written by eval.pipeline: model, format, sampling, tokens, wall time, provenance) and
`score/<model_dir>/diagnostics.json` fill the rest. The FunReason-MT paper's rows are printed beside them, marked
"quoted, not measured". Nothing here re-scores: the report reads what scoring wrote. This module writes report.md
and runs the whole; the rows are read in eval.report_labels, the tables drawn in eval.report_tables, the charts in
eval.report_charts, the learning check's rows in eval.report_learning and the provenance in eval.report_provenance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from funreason.core.atomic import atomic_write_json, atomic_write_text
from funreason.core.errors import UserError
from funreason.core.layout import RunLayout
from funreason.core.provenance import collect
from funreason.envs.bfcl import bfcl_version
from funreason.eval.csvs import CSV_FILES, overall_note, write_leaderboard_csvs
from funreason.eval.paper import AGENTIC_SOURCE, LEADERBOARD_V4_SOURCE, PAPER_SOURCE, SINGLE_TURN_SOURCE
from funreason.eval.report_charts import write_chart, write_group_charts, write_learning_curve
from funreason.eval.report_labels import QUOTED, QUOTED_V4, collect_labels
from funreason.eval.report_learning import _learning_check, read_curves, read_learning_check
from funreason.eval.report_provenance import _label_provenance, _provenance_section, file_names
from funreason.eval.report_tables import (
    _agentic,
    _costs,
    _diagnostics,
    _histogram_table,
    _leaderboard,
    _overall,
    _own_categories,
    _single_turn,
)

__all__ = [
    "QUOTED",
    "QUOTED_V4",
    "build_report",
    "collect_labels",
    "file_names",
    "main",
    "run_report_stage",
    "write_markdown",
]


def _intro(title: str) -> list[str]:
    return [
        f"# {title}",
        "",
        f"BFCL multi-turn accuracy (%), scored with our checker (parity-tested against bfcl-eval {bfcl_version()}).",
        f'Rows marked "{QUOTED}" are copied from {PAPER_SOURCE}; BFCL\'s multi-turn data changed between v3 and v4,',
        "so they are context, not a like-for-like comparison. `(n=…)` marks a category scored on a subset.",
        f'Rows marked "{QUOTED_V4}" are the best open models of at most 4B parameters on multi-turn, and the base',
        f"model in both modes, from the {LEADERBOARD_V4_SOURCE}: v4 data, scored by an earlier bfcl-eval release.",
        "",
    ]


def _leaderboard_section(labels: list[dict]) -> list[str]:
    notes = [f"- **{x['name']}**: {overall_note(x['scores'])}" for x in labels]
    return ["## Leaderboard", "", *_leaderboard(labels), "", *notes, ""]


def _groups_section(labels: list[dict]) -> list[str]:
    return [
        "## BFCL v4 groups",
        "",
        f'Measured rows, then "{QUOTED_V4}" rows (source above). Weights 10/10/10/30/40 on Non-Live / Live / '
        "Irrelevance / Multi-Turn / Agentic; Relevance is shown, not "
        "weighted. Executable categories are not run (they call live services; BFCL retired them). "
        "FS Max Delta / FS Std: format sensitivity (non-scoring, pythonic models only), the spread of accuracy over "
        "BFCL's 26 system-prompt configs (max - min, and standard deviation, in percentage points; per-config "
        "accuracy in `data_format_sensitivity.csv`); N/A where it was not run.",
        "",
        *_overall(labels),
        "",
    ]


def _single_turn_section(labels: list[dict]) -> list[str]:
    return [
        "## Single-turn",
        "",
        f'"{QUOTED}" rows: {SINGLE_TURN_SOURCE}. Measured Non-Live and Live are BFCL v4\'s AST groups; ST Overall '
        "is their mean, the paper's definition.",
        "",
        *_single_turn(labels),
        "",
    ]


def _agentic_section(labels: list[dict]) -> list[str]:
    return [
        "## Agentic (memory, web search)",
        "",
        f'"{QUOTED}" rows: {AGENTIC_SOURCE}. Web search needs the live web; a run against a frozen corpus is marked '
        "not comparable.",
        "",
        *_agentic(labels),
        "",
    ]


def _diagnostics_section(labels: list[dict]) -> list[str]:
    return [
        "## Diagnostics (extras, not leaderboard numbers)",
        "",
        *_diagnostics(labels),
        "",
        "### Error types",
        "",
        *_histogram_table(labels, "error_types", "Model"),
        "",
        "### First failing turn",
        "",
        *_histogram_table(labels, "first_failing_turn", "Model"),
        "",
        "### Steps per turn",
        "",
        *_histogram_table(labels, "steps_per_turn_histogram", "Model \\ steps"),
        "",
    ]


def _closing_sections(labels: list[dict], provenance: dict) -> list[str]:
    """Costs, provenance (every model's, then this report's) and the list of files written beside report.md."""
    return [
        "## Tokens, time and sampling",
        "",
        *_costs(labels),
        "",
        "## Provenance",
        "",
        *_provenance_section([*((x["name"], _label_provenance(x)) for x in labels), ("this report", provenance)]),
        "",
        "Files: `report.png` (multi-turn chart; the measured diagnostics when every measured score is 0), "
        "`report_single_turn.png`, `report_agentic.png`, `report_learning_curve.png` (after GRPO), BFCL's six CSVs "
        f"({', '.join(f'`{name}`' for name in CSV_FILES)}), `report.json`.",
        "",
    ]


def write_markdown(labels: list[dict], out: Path, title: str, provenance: dict, check: dict | None = None) -> Path:
    """`report.md`: the sections in order, each a helper above (tables from eval.report_tables)."""
    # A learning check's reader comes for its verdict: it leads, and BFCL's leaderboard (all N/A for models scored
    # only on held-out categories of their own) follows as context.
    learning = [*_learning_check(check), *_own_categories(labels)]
    lines = [
        *_intro(title),
        *(learning if check else []),
        *_leaderboard_section(labels),
        *([] if check else learning),
        *_groups_section(labels),
        *_single_turn_section(labels),
        *_agentic_section(labels),
        *_diagnostics_section(labels),
        *_closing_sections(labels, provenance),
    ]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def build_report(
    run_dirs: list[str | Path], out_dir: str | Path, title: str = "FunReason-MT report", recipe=None
) -> dict:
    """Write report.md, report.png, the CSVs and report.json into `out_dir`; return a summary."""

    run_paths = [Path(p) for p in run_dirs]
    labels = collect_labels(run_paths)
    if not labels:
        where = ", ".join(str(p / "eval") for p in run_paths)
        raise UserError(f"no evaluated model found: expected <label>/score/ folders under {where} (run the eval stage)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    provenance = collect(recipe=recipe)
    write_leaderboard_csvs({x["name"]: x["scores"] for x in labels}, out)
    check = read_learning_check(run_paths)
    md = write_markdown(labels, out, title, provenance, check)
    png = write_chart(labels, out, title)
    charts = write_group_charts(labels, out, title)
    curve = write_learning_curve(read_curves(run_paths), out, title)
    if curve is not None:
        charts.append(curve)
    summary = {
        "report_md": str(md),
        "report_png": str(png),
        "charts": [str(png), *map(str, charts)],
        "csv": [str(out / name) for name in CSV_FILES],
        "labels": {x["name"]: {"dir": x["dir"], "scores": x["scores"]} for x in labels},
        "learning_check": check,
    }
    atomic_write_json(out / "report.json", {**summary, "provenance": provenance})
    return summary


def run_report_stage(recipe, resolved_path) -> dict:
    """`funreason run`'s report stage: `<run_dir>/report/` over the run's evaluated models."""
    title = recipe.report.title if getattr(recipe, "report", None) else "FunReason-MT report"
    summary = build_report([recipe.run_path], RunLayout.of(recipe).report_dir, title=title, recipe=recipe)
    summary["recipe"] = str(resolved_path)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason report", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="Run dirs holding eval/<label>/score/.")
    parser.add_argument("--out", default=None, help="Output dir (default: <first RUN_DIR>/report).")
    parser.add_argument("--title", default="FunReason-MT report", help="Heading of report.md.")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.run_dirs[0]) / "report"
    summary = build_report(args.run_dirs, out, title=args.title)
    print(f"wrote {summary['report_md']} and {summary['report_png']} ({len(summary['labels'])} models)")
    return 0
