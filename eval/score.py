"""Score BFCL-format result files (multi-turn, single-turn, agentic), ours or `bfcl generate`'s, as BFCL would.

    funreason score --result-dir runs/x/eval/sft/result --out runs/x/eval/sft/score [--format pythonic|hermes|fc]
                    [--categories base,miss_func,simple_java] [--partial-eval] [--overall v4|v3]
                    [--[no-]underscore-to-dot] [--workers N]

    from funreason.eval.score import score_results
    summary = score_results(result_dir, out_dir, fmt="hermes", categories=["base"], partial=True)

`--result-dir` is BFCL's result root or one `<model_dir>` in it, in BFCL v4's layout (JSON Lines `{"id", "result",
...}` files):
  <model_dir>/multi_turn/BFCL_v4_multi_turn_<cat>_result.json       multi-turn (eval/checker.py)
  <model_dir>/{non_live,live}/BFCL_v4_<cat>_result.json             single-turn AST / relevance (eval/single_turn.py)
  <model_dir>/agentic/[memory/<backend>/]BFCL_v4_<cat>_result.json  memory and web search (eval/agentic.py)
  <model_dir>/format_sensitivity/BFCL_v4_format_sensitivity_result.json   pythonic only (eval/format_sensitivity.py)
For each model dir this writes, under `--out`, the score files in the same sub-folders:
  <model_dir>/<group>/BFCL_v4_<cat>_score.json   line 1 {"accuracy","correct_count","total_count"}, then one line
                                                  per FAILED entry (BFCL's fields)
  <model_dir>/diagnostics.json                    eval/diagnostics.py (multi-turn extras, not leaderboard numbers)
  data_overall.csv, data_{non_live,live,multi_turn,agentic,format_sensitivity}.csv
                                                  eval/csvs.py, over every score file under --out
                                                  (v4 weights; `--overall v3` for v3's formula)
Each step is decoded as BFCL's handler decodes it (eval/step_decode.py), into the very call strings BFCL would
execute, run only through `envs.dispatch` (never `eval`); each file is scored by its kind (eval/score_files.py).
A file whose call steps mostly decode only in another format is refused with the format to use
(eval/format_check.py).
Without `--partial-eval` every entry of a category must have a result row, as `bfcl evaluate` requires; the
library function defaults to partial scoring (the runner's `limit`) and says so in its summary.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import Any

from funreason.core.atomic import atomic_write_text
from funreason.core.errors import RecipeError, UserError
from funreason.core.jsonl import json_text
from funreason.core.parallel import run_jobs, usable_cpus
from funreason.core.sections.execution import ExecutionLimits
from funreason.envs import bfcl
from funreason.envs.dispatch import LIMIT_COUNTS, set_default_limits
from funreason.eval import bfcl_layout as layout
from funreason.eval import single_turn
from funreason.eval.ast_decode import decode_ast
from funreason.eval.csvs import CSV_FILES, VERSIONS, write_leaderboard_csvs
from funreason.eval.diagnostics import summarize
from funreason.eval.result_rows import read_results
from funreason.eval.score_files import estimated_seconds, score_file
from funreason.eval.tasks import load_tasks
from tqdm import tqdm

MAX_WORKERS = 8  # scoring processes by default: past this, a model's handful of files leaves workers idle
PARALLEL_MIN_SECONDS = 0.3  # less estimated work than this is scored in-process: forking would cost more


def _is_model_dir(path: Path) -> bool:
    return any((path / g).is_dir() for g in layout.GROUPS)


def find_model_dirs(result_dir: Path) -> list[Path]:
    if _is_model_dir(result_dir):
        return [result_dir]
    if not result_dir.is_dir():
        raise UserError(f"result dir not found: {result_dir}")
    dirs = sorted(d for d in result_dir.iterdir() if _is_model_dir(d))
    v3 = sorted(result_dir.glob("BFCL_v3_*_result.json")) + sorted(result_dir.glob("*/BFCL_v3_*_result.json"))
    if not dirs and v3:
        # BFCL v3 wrote flat `<model_dir>/BFCL_v3_<cat>_result.json`; its data (and multi-turn answers) differ from the
        # installed v4's, so scoring them here would not reproduce their scores
        raise UserError(
            f"{v3[0]}: a BFCL v3 result file; this scorer checks against bfcl-eval {bfcl.bfcl_version()}'s v4 data, "
            "which changed since v3 (multi-turn entries and answers): score it with the bfcl-eval release it was "
            "generated for, or regenerate with v4"
        )
    if not dirs:
        raise UserError(
            f"no <model_dir>/{{{','.join(layout.GROUPS)}}}/ folder under {result_dir} (expected BFCL's result layout)"
        )
    return dirs


def _canonical(category: str, own: frozenset[str] = frozenset()) -> str:
    """A category name as BFCL v4 writes it: multi-turn short names (`base`) and single-turn names (v3's too);
    `own` are the multi-turn categories of a question file (`synthtest` for ids `synthtest_<n>`, synth/heldout.py),
    accepted beside BFCL's since that file's own ground truth scores them."""
    if category in own:
        return f"multi_turn_{category}"
    if layout.kind_of(category) == "multi_turn":
        return bfcl.category_name(category)
    return single_turn.category_name(category) if category in layout.V3_NAMES else category


def _category_files(
    model_dir: Path, categories: list[str] | None, own: frozenset[str] = frozenset()
) -> dict[str, Path]:
    """{category: result file} of a model dir: every file BFCL's layout names, or `categories` (each required);
    `own`: a question file's own multi-turn categories (_canonical)."""
    found = {}
    for group in layout.GROUPS:
        if not (model_dir / group).is_dir():
            continue
        paths = sorted((model_dir / group).iterdir())
        if group == "agentic":  # web search files sit in agentic/, memory ones in agentic/memory/<backend>/
            paths = sorted(layout.result_path(model_dir, c) for c in layout.AGENTIC)
        for p in paths:
            m = layout.RESULT_NAME.match(p.name)
            if m and p.is_file() and _scored_in(m.group(1), group):
                found[m.group(1)] = p
    if categories is None:
        return found
    wanted = [_canonical(c, own) for c in categories]
    absent = [c for c in wanted if c not in found]
    if absent:
        names = ", ".join(layout.result_file_name(c) for c in absent)
        raise UserError(f"{model_dir}: no result file for {names}")
    return {c: found[c] for c in wanted}


def _scored_in(category: str, group: str) -> bool:
    """Whether a result file named for `category` in `group`'s folder is one to score: its name is a file name
    (`multi_turn_base`, not `base`) of that group, and not a memory prereq's (those fill memory, unscored)."""
    in_group = layout.group_of(category).split("/")[0] == group
    return in_group and layout.file_category(category) == category and not layout.is_prereq(category)


def read_score_tables(out_dir: Path) -> dict[str, dict]:
    """Every model's category headers from the score files under `out_dir` (as BFCL re-reads score/)."""
    table: dict[str, dict] = {}
    for p in sorted(p for g in layout.GROUPS for p in out_dir.glob(f"*/{g}/**/{layout.SCORE_GLOB}")):
        m = layout.SCORE_NAME.match(p.name)
        with open(p, encoding="utf-8") as f:
            first = f.readline()
        try:
            header = json.loads(first)
        except json.JSONDecodeError:
            raise UserError(f"{p}:1: not a score header (expected JSON with accuracy/total_count)") from None
        table.setdefault(p.relative_to(out_dir).parts[0], {})[m.group(1)] = header
    return table


def score_results(
    result_dir: str | Path,
    out_dir: str | Path,
    fmt: str = "pythonic",
    categories: list[str] | None = None,
    partial: bool = True,
    tasks=None,
    underscore_to_dot: bool | None = None,
    version: str = "v4",
    workers: int | None = None,
) -> dict:
    """Score every model dir under `result_dir` into `out_dir`; return a summary for the runner / report.
    `tasks` (eval.tasks.TaskSet) supplies entries and ground truth; by default the installed BFCL's are used.
    Single-turn files (non_live/, live/) are scored by eval/single_turn.py; `underscore_to_dot` lets
    "math_factorial" answer for "math.factorial", as BFCL's registry sets it for API FC models; None (default):
    off for pythonic and hermes, and for fc what the model's own answers show (eval.single_turn
    .detect_underscore_to_dot; on when they do not tell). The value used is in the summary per model.
    `workers` processes score a model's files side by side (default: every usable CPU, at most
    MAX_WORKERS; 1 = in this process); results are the same either way.

    `{"models": {model_dir: {"categories": {cat: header + {"dataset_size", "partial"}}, "diagnostics": path,
    "overall_note": str}}, "csv": [paths]}`.
    """

    if fmt not in layout.FORMATS:
        raise UserError(f"unknown tool-call format {fmt!r}; expected one of {list(layout.FORMATS)}")
    if workers is None:
        workers = min(usable_cpus(), MAX_WORKERS)
    if workers < 1:
        raise UserError(f"workers must be at least 1, got {workers}")
    result_dir, out_dir = Path(result_dir), Path(out_dir)
    summary: dict[str, Any] = {"models": {}, "format": fmt, "bfcl_eval": bfcl.bfcl_version()}
    latency_by_model: dict[str, list[float]] = {}
    for model_dir in find_model_dirs(result_dir):
        own = frozenset(tasks.entries) if tasks is not None else frozenset()
        files = _category_files(model_dir, categories, own)
        summary["models"][model_dir.name], latency_by_model[model_dir.name] = _score_model(
            model_dir.name, files, fmt, partial, underscore_to_dot, out_dir, tasks, workers
        )
    table = read_score_tables(out_dir)
    for model, lat in latency_by_model.items():
        table.setdefault(model, {})["latency"] = lat
    notes = write_leaderboard_csvs(table, out_dir, version=version)
    for model, info in summary["models"].items():
        info["overall_note"] = notes.get(model, "")
    summary["csv"] = [str(out_dir / name) for name in CSV_FILES]
    return summary


def _score_model(model, files, fmt, partial, underscore_to_dot, out_dir, tasks, workers) -> tuple[dict, list[float]]:
    """Score one model's result files and write its diagnostics: (its summary, its per-step latencies).

    One job per result file. Multi-turn and single-turn files are scored by worker processes when there is enough
    to score (core/parallel.py); agentic ones here, since vector memory runs torch, whose thread pools a fork does
    not carry over safely."""
    u2d, single_rows, single_decoded = _underscore_to_dot(files, fmt, underscore_to_dot)
    jobs = {
        c: functools.partial(
            score_file, p, c, fmt, model, partial, u2d, out_dir, tasks, single_rows.get(c), single_decoded.get(c)
        )
        for c, p in files.items()
    }
    forked = [c for c in jobs if c not in layout.AGENTIC]
    costs = [estimated_seconds(c, files[c]) for c in forked]
    n_workers = workers if sum(costs) >= PARALLEL_MIN_SECONDS else 1
    batch = [functools.partial(jobs[c], progress=n_workers == 1) for c in forked]
    with tqdm(total=len(batch), desc=f"score {model}", unit="file", leave=False, disable=n_workers == 1) as bar:
        done = dict(zip(forked, run_jobs(batch, n_workers, costs, on_done=lambda _: bar.update())))
    cats, all_records, latencies = {}, [], []
    for category in files:
        info, records, lat, stopped = done[category] if category in done else jobs[category]()
        cats[category] = info
        all_records += records
        latencies += lat
        LIMIT_COUNTS.update(stopped)
    diag = summarize(all_records)
    diag_path = out_dir / model / "diagnostics.json"
    diag_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(  # derived from the result files, like the score files: never torn, not fsynced
        diag_path, json_text({"format": fmt, **diag, "records": all_records}, indent=1), durable=False
    )
    info = {
        "categories": cats,
        "diagnostics": str(diag_path),
        "underscore_to_dot": u2d,
        "calls_stopped_by_limits": diag["overall"]["calls_stopped_by_limits"],
    }
    return info, latencies


def _underscore_to_dot(files: dict[str, Path], fmt: str, given: bool | None) -> tuple[bool, dict, dict]:
    """(the underscore_to_dot used, single-turn rows and decodes read to decide it): `given`, else off, except
    for fc, where the model's own answers decide (on when they do not tell)."""
    if given is not None or fmt != "fc":
        return bool(given), {}, {}
    rows = {c: read_results(p) for c, p in files.items() if c in layout.SINGLE_TURN}
    # fc decodes the same in every language: decode once, for the detection and the verdicts
    decoded = {c: [decode_ast(r["result"], fmt) for r in rs] for c, rs in rows.items()}
    detected = single_turn.detect_underscore_to_dot(rows, fmt, decoded)
    return (True if detected is None else detected), rows, decoded


def _format_from_metadata(result_dir: Path) -> str | None:
    for candidate in (result_dir / "metadata.json", result_dir.parent / "metadata.json"):
        if candidate.is_file():
            try:
                meta = json.loads(candidate.read_text())
                return meta.get("tool_format") or meta.get("format")
            except (json.JSONDecodeError, AttributeError):
                return None
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funreason score", description=__doc__.split("\n\n")[0])
    parser.add_argument("--result-dir", required=True, help="BFCL result root, or one <model_dir> in it.")
    parser.add_argument("--out", required=True, help="Score root to write (BFCL's score/ layout + CSVs).")
    parser.add_argument(
        "--format",
        choices=list(layout.FORMATS),
        default=None,
        help="Tool-call format (default: metadata.json's, else pythonic).",
    )
    parser.add_argument("--categories", default=None, help="Comma-separated subset, e.g. base,miss_func.")
    parser.add_argument("--partial-eval", action="store_true", help="Score only the rows present in each file.")
    parser.add_argument(
        "--underscore-to-dot",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Single-turn: accept 'math_factorial' for 'math.factorial', as BFCL does for API FC models "
        "(default: off; for --format fc, what the model's answers show).",
    )
    parser.add_argument(
        "--overall", choices=VERSIONS, default="v4", help="Group/Overall formulas: BFCL v4's weights or v3's means."
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"Processes scoring files side by side (default: usable CPUs, at most {MAX_WORKERS}; 1 = serial).",
    )
    parser.add_argument("--question-file", help="BFCL-format question JSONL the results answer (default: BFCL's).")
    parser.add_argument("--answer-file", help="Its possible-answer JSONL (required with --question-file).")
    limits = ExecutionLimits()
    parser.add_argument(
        "--call-timeout-s",
        type=float,
        default=limits.call_timeout_s,
        help="Time limit of one replayed call (execution.call_timeout_s; 0 = none).",
    )
    parser.add_argument(
        "--max-arg-chars",
        type=int,
        default=limits.max_arg_chars,
        help="Largest call accepted, in characters (execution.max_arg_chars; 0 = no cap).",
    )
    parser.add_argument(
        "--max-precision",
        type=int,
        default=limits.max_precision,
        help="Largest `precision` of BFCL MathAPI calls (execution.max_precision; 0 = no cap).",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        limits = ExecutionLimits(args.call_timeout_s, args.max_arg_chars, args.max_precision)
    except RecipeError as e:
        raise UserError(str(e).replace("execution.", "--").replace("_", "-")) from None
    set_default_limits(limits)
    fmt = args.format or _format_from_metadata(Path(args.result_dir)) or "pythonic"
    cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    tasks = None
    if args.question_file or args.answer_file:
        if not (args.question_file and args.answer_file):
            raise UserError("--question-file and --answer-file go together")

        tasks = load_tasks(question_file=args.question_file, answer_file=args.answer_file)
        cats = cats or list(tasks.entries)
    summary = score_results(
        args.result_dir, args.out, fmt, cats, partial=args.partial_eval, tasks=tasks,
        underscore_to_dot=args.underscore_to_dot, version=args.overall, workers=args.workers,
    )  # fmt: skip
    _print_summary(summary)
    print(f"wrote {args.out}")
    return 0


def _print_summary(summary: dict) -> None:
    for model, info in summary["models"].items():
        for cat, h in info["categories"].items():
            part = f" (partial: {h['total_count']} of {h['dataset_size']})" if h["partial"] else ""
            print(f"{model}  {cat:<28} {h['accuracy'] * 100:6.2f}%  {h['correct_count']}/{h['total_count']}{part}")
        print(f"{model}  {info['overall_note']}")
        if info["calls_stopped_by_limits"]:
            print(
                f"{model}  {info['calls_stopped_by_limits']} replayed calls stopped by execution limits "
                "(each an execution error for that call; see diagnostics.json)"
            )
