"""Score BFCL-format result files (multi-turn, single-turn, agentic), ours or `bfcl generate`'s, as BFCL would.

    funreason score --result-dir runs/x/eval/sft/result --out runs/x/eval/sft/score [--format pythonic|hermes|fc]
                    [--categories base,miss_func,simple_java] [--partial-eval] [--overall v4|v3]
                    [--[no-]underscore-to-dot] [--workers N]

    from eval.score import score_results
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
Each step is decoded as BFCL's handler decodes it (pythonic: `default_decode_execute_prompting`; hermes: QwenFC's
`decode_execute`; fc: the API FC handlers' `convert_to_function_call` on `[{name: "<JSON args>"}]`, eval/fc.py),
into the very call strings BFCL would execute; steps that fail to decode or decode to no call are dropped, as BFCL
drops them. The strings run only through `envs.dispatch` (never `eval`). A file whose call steps mostly decode only
in another format is refused with the format to use (eval/format_check.py).
Without `--partial-eval` every entry of a category must have a result row, as `bfcl evaluate` requires; the
library function defaults to partial scoring (the runner's `limit`) and says so in its summary.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from chat.formats import FORMATS as TOOL_FORMATS
from chat.formats import tool_format
from core.atomic import atomic_write_text
from core.errors import RecipeError, UserError
from core.jsonl import iter_jsonl, jsonable
from core.parallel import run_jobs, usable_cpus
from core.sections.execution import ExecutionLimits
from envs import bfcl
from envs.dispatch import LIMIT_COUNTS, call_timer_handler, set_default_limits
from eval import agentic, format_sensitivity, single_turn
from eval.ast_decode import decode_ast, is_empty_output
from eval.checker import call_text, check_entry
from eval.csvs import CSV_FILES, VERSIONS, write_leaderboard_csvs
from eval.diagnostics import entry_record, flat_numbers, summarize
from eval.fc import decode_execute
from eval.format_check import check_format, could_hold_calls
from eval.tasks import load_tasks

VERSION_PREFIX = "BFCL_v4"
GROUP = "multi_turn"
GROUPS = ("multi_turn", "non_live", "live", "agentic", "format_sensitivity")  # BFCL v4's result sub-folders
SINGLE_RE = re.compile(rf"^{VERSION_PREFIX}_(\w+?)_result\.json$")
RESULT_RE = re.compile(rf"^{VERSION_PREFIX}_(multi_turn_\w+?)_result\.json$")
# what `score` reads: the generation formats, plus "fc", the result layout of BFCL's API function-calling models
# (scored only: our runner never writes it; eval/fc.py)
FORMATS = (*TOOL_FORMATS, "fc")
MAX_WORKERS = 8  # scoring processes by default: past this, a model's handful of files leaves workers idle
# Rough scoring cost of one result row, in seconds on one core (benchmarks/eval_speed.py): a multi-turn row replays
# every call on two sets of backends; a single-turn row is one parse and one AST check.
ROW_SECONDS = {"multi_turn": 1e-3, "other": 3e-5}
PARALLEL_MIN_SECONDS = 0.3  # less estimated work than this is scored in-process: forking would cost more


def result_file_name(category: str) -> str:
    return f"{VERSION_PREFIX}_{category}_result.json"


def score_file_name(category: str) -> str:
    return f"{VERSION_PREFIX}_{category}_score.json"


def decode_step(raw: Any, fmt: str) -> list[str] | None:
    """The call strings BFCL's handler would execute for one raw step, or None where BFCL drops the step."""
    if fmt == "fc":  # BFCL's FC layout, [{name: "<JSON args>"}] per step (eval/fc.py)
        calls = decode_execute(raw)
        return calls or None
    if not isinstance(raw, str):
        return None  # BFCL's decoders raise on non-text (e.g. .strip on a list): the step is dropped
    tool_format(fmt)  # raises UserError on an unknown format
    calls = _decode_text(raw, fmt)
    return None if calls is None else list(calls)


@functools.lru_cache(maxsize=4096)
def _decode_text(raw: str, fmt: str) -> tuple[str, ...] | None:
    # Cached: the same reply text recurs across steps and entries (closing texts, identical calls).
    # BFCL's decoders: pythonic is `default_decode_execute_prompting` (compat), hermes QwenFC's `decode_execute`.
    decoder = tool_format(fmt)
    parsed, style = decoder.parse(raw, mode="compat"), decoder.bfcl_call_style
    if not parsed.ok or not parsed.calls:
        return None
    calls = tuple(c.to_python(style=style) for c in parsed.calls)
    return None if calls == ("",) else calls


def decode_result(result: Any, fmt: str) -> Any:
    """`list[turn][step] raw text` -> `list[turn][step] call strings` (dropped steps removed); non-lists pass through."""
    if not isinstance(result, list):
        return result
    turns = []
    for turn in result:
        steps = turn if isinstance(turn, list) else []
        turns.append([d for d in (decode_step(raw, fmt) for raw in steps) if d is not None])
    return turns


def _decode_if_possible(raw: Any, fmt: str) -> list[str] | None:
    return decode_step(raw, fmt) if could_hold_calls(raw, fmt) else None


def _raw_steps(rows: list[dict]):
    """Every raw step of every row whose result is a list of turns (inference-error strings have none)."""
    for row in rows:
        if isinstance(row["result"], list):
            for turn in row["result"]:
                yield from turn if isinstance(turn, list) else []


def read_results(path: Path) -> list[dict]:
    """Read a result file; any malformed line is a UserError naming the file and line."""
    rows, seen = [], {}
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or "id" not in row or "result" not in row:
            raise UserError(f'{path}:{lineno}: a result row must be an object with "id" and "result" keys')
        if not isinstance(row["id"], str):
            raise UserError(f'{path}:{lineno}: "id" must be a string, got {type(row["id"]).__name__}')
        if row["id"] in seen:
            raise UserError(f"{path}:{lineno}: duplicate id {row['id']!r} (first on line {seen[row['id']]})")
        seen[row["id"]] = lineno
        row["_line"] = lineno
        rows.append(row)
    return sorted(rows, key=lambda r: bfcl.entry_sort_key(r["id"]))


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
        raise UserError(f"{path}: no result rows (an empty file would score as a real-looking 0%)")
    check_format(path, _raw_steps(rows), fmt, _decode_if_possible)
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
            if verdict["valid"]:
                continue
            prompt = entry
            item = {
                "id": row["id"],
                "model_name": model_name,
                "test_category": category,
                "valid": False,
                "error": verdict["error"],
                "prompt": prompt,
            }
            if verdict["error_type"] in ("multi_turn:inference_error", "multi_turn:force_terminated"):
                item["model_result"] = raw
            else:
                item["model_result_raw"] = raw
                item["model_result_decoded"] = [[[call_text(c) for c in step] for step in turn] for turn in decoded]
            item["possible_answer"] = gt
            item["inference_log"] = row.get("inference_log", "")
            failed.append(item)
    correct = len(rows) - len(failed)
    header = {"accuracy": correct / len(rows) if rows else 0.0, "correct_count": correct, "total_count": len(rows)}
    return header, failed, records, latencies


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    """A score file: written whole to a temp file and renamed (never torn), without fsync: score files are derived
    from the result files and re-made by scoring again, and two fsyncs per file were half of scoring's time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        path, "".join(json.dumps(jsonable(row), ensure_ascii=False) + "\n" for row in rows), durable=False
    )


def _bfcl_version() -> str:

    return bfcl.bfcl_version()


def _is_model_dir(path: Path) -> bool:
    return any((path / g).is_dir() for g in GROUPS)


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
            f"{v3[0]}: a BFCL v3 result file; this scorer checks against bfcl-eval {_bfcl_version()}'s v4 data, "
            "which changed since v3 (multi-turn entries and answers): score it with the bfcl-eval release it was "
            "generated for, or regenerate with v4"
        )
    if not dirs:
        raise UserError(
            f"no <model_dir>/{{{','.join(GROUPS)}}}/ folder under {result_dir} (expected BFCL's result layout)"
        )
    return dirs


def _canonical(category: str, own: frozenset[str] = frozenset()) -> str:
    """A category name as BFCL v4 writes it: multi-turn short names (`base`) and single-turn names (v3's too);
    `own` are the multi-turn categories of a question file (`synthtest` for ids `synthtest_<n>`, synth/heldout.py),
    accepted beside BFCL's since that file's own ground truth scores them."""

    if category in own:
        return f"multi_turn_{category}"
    if category in single_turn.CATEGORIES or category in single_turn.V3_NAMES:
        return single_turn.category_name(category)
    if category in agentic.CATEGORIES or category == format_sensitivity.CATEGORY:
        return category
    return bfcl.category_name(category)


def _category_files(
    model_dir: Path, categories: list[str] | None, own: frozenset[str] = frozenset()
) -> dict[str, Path]:

    found = {}
    for group in GROUPS:
        if not (model_dir / group).is_dir():
            continue
        paths = sorted((model_dir / group).iterdir())
        if group == "agentic":  # web search files sit in agentic/, memory ones in agentic/memory/<backend>/
            paths = sorted(
                p for c in agentic.CATEGORIES for p in [model_dir / agentic.result_subdir(c) / result_file_name(c)]
            )
        for p in paths:
            m = (RESULT_RE if group == GROUP else SINGLE_RE).match(p.name)
            known = {"agentic": agentic.CATEGORIES, format_sensitivity.GROUP: (format_sensitivity.CATEGORY,)}.get(
                group, single_turn.CATEGORIES
            )
            if m and p.is_file() and (group == GROUP or m.group(1) in known):
                found[m.group(1)] = p
    if categories is None:
        return found
    wanted = [_canonical(c, own) for c in categories]
    absent = [c for c in wanted if c not in found]
    if absent:
        names = ", ".join(result_file_name(c) for c in absent)
        raise UserError(f"{model_dir}: no result file for {names}")
    return {c: found[c] for c in wanted}


def read_score_tables(out_dir: Path) -> dict[str, dict]:
    """Every model's category headers from the score files under `out_dir` (as BFCL re-reads score/)."""
    table: dict[str, dict] = {}
    for p in sorted(p for g in GROUPS for p in out_dir.glob(f"*/{g}/**/{VERSION_PREFIX}_*_score.json")):
        m = re.match(rf"^{VERSION_PREFIX}_(\w+?)_score\.json$", p.name)
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

    if fmt not in FORMATS:
        raise UserError(f"unknown tool-call format {fmt!r}; expected one of {list(FORMATS)}")
    if workers is None:
        workers = min(usable_cpus(), MAX_WORKERS)
    if workers < 1:
        raise UserError(f"workers must be at least 1, got {workers}")
    result_dir, out_dir = Path(result_dir), Path(out_dir)
    summary: dict[str, Any] = {"models": {}, "format": fmt, "bfcl_eval": bfcl.bfcl_version()}
    latency_by_model: dict[str, list[float]] = {}
    for model_dir in find_model_dirs(result_dir):
        model = model_dir.name
        cats, all_records, latencies = {}, [], []
        files = _category_files(model_dir, categories, frozenset(tasks.entries) if tasks is not None else frozenset())
        u2d, single_rows, single_decoded = underscore_to_dot, {}, {}
        if u2d is None:
            u2d = False
            if fmt == "fc":
                single_rows = {c: read_results(p) for c, p in files.items() if c in single_turn.CATEGORIES}
                # fc decodes the same in every language: decode once, for the detection and the verdicts
                single_decoded = {c: [decode_ast(r["result"], fmt) for r in rows] for c, rows in single_rows.items()}
                detected = single_turn.detect_underscore_to_dot(single_rows, fmt, single_decoded)
                u2d = True if detected is None else detected
        # One job per result file. Multi-turn and single-turn files are scored by worker processes when there is
        # enough to score (core/parallel.py); agentic ones here, since vector memory runs torch, whose thread
        # pools a fork does not carry over safely.
        jobs = {
            c: functools.partial(
                _score_file, p, c, fmt, model, partial, u2d, out_dir, tasks, single_rows.get(c), single_decoded.get(c)
            )
            for c, p in files.items()
        }
        forked = [c for c in jobs if c not in agentic.CATEGORIES]
        costs = [_estimated_seconds(c, files[c]) for c in forked]
        n_workers = workers if sum(costs) >= PARALLEL_MIN_SECONDS else 1
        batch = [functools.partial(jobs[c], progress=n_workers == 1) for c in forked]
        with tqdm(total=len(batch), desc=f"score {model}", unit="file", leave=False, disable=n_workers == 1) as bar:
            done = dict(zip(forked, run_jobs(batch, n_workers, costs, on_done=lambda _: bar.update())))
        results = [done[c] if c in done else jobs[c]() for c in files]
        for category, (info, records, lat, stopped) in zip(files, results):
            cats[category] = info
            all_records += records
            latencies += lat
            LIMIT_COUNTS.update(stopped)
        diag = summarize(all_records)
        diag_path = out_dir / model / "diagnostics.json"
        diag_path.parent.mkdir(parents=True, exist_ok=True)
        diag_path.write_text(json.dumps({"format": fmt, **diag, "records": all_records}, indent=1, default=str))
        latency_by_model[model] = latencies
        summary["models"][model] = {
            "categories": cats,
            "diagnostics": str(diag_path),
            "underscore_to_dot": u2d,
            "calls_stopped_by_limits": diag["overall"]["calls_stopped_by_limits"],
        }
    table = read_score_tables(out_dir)
    for model, lat in latency_by_model.items():
        table.setdefault(model, {})["latency"] = lat
    notes = write_leaderboard_csvs(table, out_dir, version=version)
    for model, info in summary["models"].items():
        info["overall_note"] = notes.get(model, "")
    summary["csv"] = [str(out_dir / name) for name in CSV_FILES]
    return summary


def _estimated_seconds(category: str, path: Path) -> float:
    """A result file's scoring time on one core, from its row count (ROW_SECONDS): decides whether worker processes
    pay off, and hands the heaviest files out first."""
    with path.open("rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return rows * ROW_SECONDS["multi_turn" if category.startswith("multi_turn_") else "other"]


def _score_file(
    path: Path,
    category: str,
    fmt: str,
    model: str,
    partial: bool,
    u2d: bool,
    out_dir: Path,
    tasks,
    single_rows: list[dict] | None,
    single_decoded: list[tuple] | None,
    progress: bool = True,
) -> tuple[dict, list[dict], list[float], Counter]:
    """Score one result file and write its score file: (category summary, diagnostic records, latencies, calls
    stopped by execution limits by kind). Self-contained, so that it can run in a worker process; the limit
    counts it returns are taken back out of this process's LIMIT_COUNTS, and the caller adds them wherever the
    job ran."""
    before = LIMIT_COUNTS.copy()
    records: list[dict] = []
    latencies: list[float] = []
    if category in agentic.CATEGORIES:
        header, size = _score_agentic_file(path, category, fmt, model, partial, out_dir)
    elif category == format_sensitivity.CATEGORY:  # non-scoring, prompting models only
        format_sensitivity.require_prompting(fmt)
        rows = read_results(path)
        header, failed = format_sensitivity.score_format_sensitivity(path, model, partial, rows)
        _write_jsonl(out_dir / model / format_sensitivity.GROUP / score_file_name(category), [header, *failed])
        size = format_sensitivity.dataset_size()
        latencies = [x for r in rows for x in flat_numbers(r.get("latency", []))]
    elif category in single_turn.CATEGORIES:
        header, size, latencies = _score_single_turn_file(
            path, category, fmt, model, partial, u2d, out_dir, single_rows, single_decoded
        )
    else:
        if tasks is None:
            given, ground_truth = None, bfcl.load_ground_truth(category)
        else:
            short = category.removeprefix("multi_turn_")
            given, ground_truth = tasks.entries.get(short, []), tasks.ground_truth.get(short, {})
        header, failed, records, latencies = score_category(
            path, category, fmt, model, partial, ground_truth, given, progress=progress
        )
        _write_jsonl(out_dir / model / GROUP / score_file_name(category), [header, *failed])
        size = len(ground_truth)
    stopped = LIMIT_COUNTS - before
    LIMIT_COUNTS.subtract(stopped)
    info = {**header, "dataset_size": size, "partial": header["total_count"] != size}
    return info, records, latencies, stopped


def _score_single_turn_file(
    path: Path,
    category: str,
    fmt: str,
    model: str,
    partial: bool,
    underscore_to_dot: bool,
    out_dir: Path,
    rows: list[dict] | None = None,
    decoded: list[tuple] | None = None,
) -> tuple[dict, int, list[float]]:
    """Score one single-turn result file (its `rows`, if already read) into `out_dir/<model>/<group>/`:
    (header, dataset size, latencies)."""

    rows = read_results(path) if rows is None else rows
    if not rows:
        raise UserError(f"{path}: no result rows (an empty file would score as a real-looking 0%)")

    # each output is decoded once in the chosen format (for the format check and the verdict); other formats are
    # tried only if the chosen one fails on most outputs
    if decoded is None:
        decoded = [decode_ast(r["result"], fmt, single_turn.decode_language(category)) for r in rows]

    def calls(i: int, f: str) -> list | None:
        if f != fmt and not could_hold_calls(rows[i]["result"], f):
            return None
        d, error = decoded[i] if f == fmt else decode_ast(rows[i]["result"], f)
        return None if error is not None or is_empty_output(d) else d

    check_format(path, range(len(rows)), fmt, calls)
    header, failed = single_turn.score_single_turn(
        path, category, fmt, model, partial, rows, underscore_to_dot, decoded
    )
    group = single_turn.group_of(category)
    _write_jsonl(out_dir / model / group / score_file_name(category), [header, *failed])
    latencies = [x for r in rows for x in flat_numbers(r.get("latency", []))]
    return header, single_turn.dataset_size(category), latencies


def _score_agentic_file(
    path: Path, category: str, fmt: str, model: str, partial: bool, out_dir: Path
) -> tuple[dict, int]:
    """Score one memory / web-search result file into `out_dir/<model>/agentic/...`: (header, dataset size)."""

    rows = read_results(path)
    if not rows:
        raise UserError(f"{path}: no result rows (an empty file would score as a real-looking 0%)")
    check_format(path, _raw_steps(rows), fmt, _decode_if_possible)
    header, failed = agentic.score_agentic(path, category, fmt, model, partial, rows, decode_step)
    _write_jsonl(out_dir / model / agentic.result_subdir(category) / score_file_name(category), [header, *failed])
    return header, agentic.dataset_size(category)


def _format_from_metadata(result_dir: Path) -> str | None:
    for candidate in (result_dir / "metadata.json", result_dir.parent / "metadata.json"):
        if candidate.is_file():
            try:
                meta = json.loads(candidate.read_text())
                return meta.get("tool_format") or meta.get("format")
            except (json.JSONDecodeError, AttributeError):
                return None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason score", description=__doc__.split("\n\n")[0])
    parser.add_argument("--result-dir", required=True, help="BFCL result root, or one <model_dir> in it.")
    parser.add_argument("--out", required=True, help="Score root to write (BFCL's score/ layout + CSVs).")
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
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
    args = parser.parse_args(argv)
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
    print(f"wrote {args.out}")
    return 0
