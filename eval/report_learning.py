"""What the learning check left for the report: `learning_check.json` (funreason/experiments/learning_check.py)
as report.md's "Learning check" rows, and GRPO's `train_summary.json` curves for `report_learning_curve.png`.
"""

from __future__ import annotations

from pathlib import Path

from funreason.core.layout import RunLayout
from funreason.eval.report_labels import _read_json, _share


def read_curves(run_dirs: list[Path]) -> list[tuple[str, dict]]:
    """(run name, grpo/train_summary.json) for every run whose GRPO stage wrote one."""
    curves = []
    for run_dir in run_dirs:
        path = RunLayout.at(run_dir).grpo_dir / "train_summary.json"
        if path.is_file():
            curves.append((run_dir.name, _read_json(path)))
    return curves


def read_learning_check(run_dirs: list[Path]) -> dict | None:
    """`learning_check.json` (funreason/experiments/learning_check.py) in a run dir or the folder holding the seeds' run dirs."""
    for run_dir in run_dirs:
        for path in (run_dir / "learning_check.json", run_dir.parent / "learning_check.json"):
            if path.is_file():
                return _read_json(path)
    return None


def _learning_check(check: dict | None) -> list[str]:
    if not check:
        return []
    seeds = check.get("seeds", [])
    lines = [
        "## Learning check",
        "",
        f"Held-out turn success (BFCL checker, category `{check.get('category', '?')}`, "
        f"{check.get('turns', '?')} turns per seed), over seeds {seeds}: mean and min-max. "
        "See docs/learning-check.md.",
        "",
        "| Model | Source | held-out turn success, mean | min | max | per seed |",
        "|---|---|---|---|---|---|",
    ]
    for label, row in check.get("rows", {}).items():
        per_seed = ", ".join(_share(v) for v in row.get("per_seed", []))
        lines.append(
            f"| learning check: {label} | measured | {_share(row.get('mean'))} | {_share(row.get('min'))} "
            f"| {_share(row.get('max'))} | {per_seed} |"
        )
    if check.get("verdict"):
        lines += ["", check["verdict"]]
    return [*lines, ""]
