"""Score one BFCL result file of any kind and write its score file (what `eval.score` hands to each worker).

    from funreason.eval.score_files import score_file
    info, records, latencies, stopped = score_file(path, "simple_python", "pythonic", "m", partial=True,
                                                   u2d=False, out_dir=score_root, tasks=None)

Kinds: multi-turn (eval/score_multi_turn.py), single-turn AST and relevance (eval/single_turn.py), agentic
(eval/agentic.py), format sensitivity (eval/format_sensitivity.py). The score file goes to the result file's place
in the score tree (eval/bfcl_layout.py): line 1 the header, then one line per failed entry.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from funreason.core.atomic import atomic_write_text
from funreason.core.errors import UserError
from funreason.core.jsonl import json_line
from funreason.envs import bfcl
from funreason.envs.dispatch import LIMIT_COUNTS
from funreason.eval import agentic, format_sensitivity, single_turn
from funreason.eval import bfcl_layout as layout
from funreason.eval.ast_decode import decode_ast, is_empty_output
from funreason.eval.diagnostics import flat_numbers
from funreason.eval.format_check import check_format, could_hold_calls
from funreason.eval.result_rows import NO_ROWS, read_results
from funreason.eval.score_multi_turn import score_category
from funreason.eval.step_decode import decode_if_possible, decode_step, raw_steps

# Rough scoring cost of one result row, in seconds on one core (benchmarks/eval_speed.py): a multi-turn row replays
# every call on two sets of backends; a single-turn row is one parse and one AST check.
ROW_SECONDS = {"multi_turn": 1e-3, "other": 3e-5}


def write_score_file(out_dir: Path, model: str, category: str, rows: list[dict]) -> None:
    """A score file at the result file's place under `out_dir/<model>/`: written whole to a temp file and renamed
    (never torn), without fsync: score files are derived from the result files and re-made by scoring again, and
    two fsyncs per file were half of scoring's time."""
    path = layout.score_path(out_dir / model, category)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(map(json_line, rows)), durable=False)  # valid JSON whatever the model wrote


def estimated_seconds(category: str, path: Path) -> float:
    """A result file's scoring time on one core, from its row count (ROW_SECONDS): decides whether worker processes
    pay off, and hands the heaviest files out first."""
    with path.open("rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return rows * ROW_SECONDS["multi_turn" if layout.kind_of(category) == "multi_turn" else "other"]


def score_file(
    path: Path,
    category: str,
    fmt: str,
    model: str,
    partial: bool,
    u2d: bool,
    out_dir: Path,
    tasks,
    single_rows: list[dict] | None = None,
    single_decoded: list[tuple] | None = None,
    progress: bool = True,
) -> tuple[dict, list[dict], list[float], Counter]:
    """Score one result file and write its score file: (category summary, diagnostic records, latencies, calls
    stopped by execution limits by kind). Self-contained, so that it can run in a worker process; the limit
    counts it returns are taken back out of this process's LIMIT_COUNTS, and the caller adds them wherever the
    job ran."""
    before = LIMIT_COUNTS.copy()
    records: list[dict] = []
    latencies: list[float] = []
    if category in layout.AGENTIC:
        header, size = _score_agentic_file(path, category, fmt, model, partial, out_dir)
    elif category == layout.FORMAT_SENSITIVITY:
        header, size, latencies = _score_format_sensitivity_file(path, fmt, model, partial, out_dir)
    elif category in layout.SINGLE_TURN:
        header, size, latencies = _score_single_turn_file(
            path, category, fmt, model, partial, u2d, out_dir, single_rows, single_decoded
        )
    else:
        header, size, records, latencies = _score_multi_turn_file(
            path, category, fmt, model, partial, out_dir, tasks, progress
        )
    stopped = LIMIT_COUNTS - before
    LIMIT_COUNTS.subtract(stopped)
    info = {**header, "dataset_size": size, "partial": header["total_count"] != size}
    return info, records, latencies, stopped


def _latencies(rows: list[dict]) -> list[float]:
    return [x for r in rows for x in flat_numbers(r.get("latency", []))]


def _score_multi_turn_file(path, category, fmt, model, partial, out_dir, tasks, progress):
    """(header, dataset size, diagnostic records, latencies); entries and answers from `tasks` (a question file's)
    or the installed BFCL's."""
    if tasks is None:
        given, ground_truth = None, bfcl.load_ground_truth(category)
    else:
        short = category.removeprefix(layout.MULTI_TURN_PREFIX)
        given, ground_truth = tasks.entries.get(short, []), tasks.ground_truth.get(short, {})
    header, failed, records, latencies = score_category(
        path, category, fmt, model, partial, ground_truth, given, progress=progress
    )
    write_score_file(out_dir, model, category, [header, *failed])
    return header, len(ground_truth), records, latencies


def _score_format_sensitivity_file(path, fmt, model, partial, out_dir) -> tuple[dict, int, list[float]]:
    """Non-scoring, prompting models only: (header, dataset size, latencies)."""
    format_sensitivity.require_prompting(fmt)
    rows = read_results(path)
    header, failed = format_sensitivity.score_format_sensitivity(path, model, partial, rows)
    write_score_file(out_dir, model, layout.FORMAT_SENSITIVITY, [header, *failed])
    return header, format_sensitivity.dataset_size(), _latencies(rows)


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
        raise UserError(NO_ROWS.format(path=path))

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
    write_score_file(out_dir, model, category, [header, *failed])
    return header, single_turn.dataset_size(category), _latencies(rows)


def _score_agentic_file(
    path: Path, category: str, fmt: str, model: str, partial: bool, out_dir: Path
) -> tuple[dict, int]:
    """Score one memory / web-search result file into `out_dir/<model>/agentic/...`: (header, dataset size)."""

    rows = read_results(path)
    if not rows:
        raise UserError(NO_ROWS.format(path=path))
    check_format(path, raw_steps(rows), fmt, decode_if_possible)
    header, failed = agentic.score_agentic(path, category, fmt, model, partial, rows, decode_step)
    write_score_file(out_dir, model, category, [header, *failed])
    return header, agentic.dataset_size(category)
