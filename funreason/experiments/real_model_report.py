"""REAL_MODEL.md for `make real-model`: wall time per step, eval before/after SFT, teacher acceptance per phase, and
what the model actually wrote (the first replies of each evaluated model), so a reader can judge the parsers.

    python -c "from funreason.experiments.real_model_report import write_summary; write_summary('runs/real-model', {})"
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from funreason.chat.render import parse_assistant
from funreason.core.sections.chat import ChatOptions

SAMPLES = 4  # replies shown per evaluated model


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _scalars(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for key, value in d.items():
        if isinstance(value, dict):
            out += _scalars(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            out.append((prefix + key, value))
    return out


_FENCED = re.compile(r"```(?:json|python)?\s*(.*?)```", re.S)


def classify_reply(text: str, tool_format: str) -> str:
    """What one model reply is, judged by the format's BFCL-faithful parser first, then by what it looks like:
    `call` (decodes to at least one call), `fenced JSON call` / `bare JSON call` (a {"name", "arguments"} object
    outside <tool_call> tags, which BFCL does not decode), `fenced call list`, `undecodable call list`, `text`."""

    result = parse_assistant(text, ChatOptions(tool_format=tool_format))
    if result.ok and result.calls:
        return "call"

    def json_call(candidate: str) -> bool:
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):
            return False
        items = value if isinstance(value, list) else [value]
        return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)

    fenced = _FENCED.findall(text)
    if any(json_call(block.strip()) for block in fenced):
        return "fenced JSON call"
    if json_call(text.strip()):
        return "bare JSON call"
    if any(block.strip().startswith("[") for block in fenced):
        return "fenced call list"
    if text.strip().startswith("["):
        return "undecodable call list"
    return "text"


def replies(result_file: Path) -> list[tuple[str, str]]:
    """(entry id, assistant text) of every generation step in a result file, in order."""
    out = []
    for line in result_file.read_text().splitlines():
        row = json.loads(line)
        for turn in row.get("inference_log", []):
            if not isinstance(turn, dict):
                continue
            for key, messages in turn.items():
                if key.startswith("step_") and isinstance(messages, list):
                    out += [(row["id"], m["content"]) for m in messages if m.get("role") == "assistant"]
    return out


def eval_section(run_dir: Path, tool_format: str) -> list[str]:
    lines = ["## Evaluation (BFCL multi-turn, hf backend)", ""]
    labels = sorted(p.name for p in (run_dir / "eval").glob("*") if (p / "metadata.json").is_file())
    if not labels:
        return [*lines, "No evaluation ran.", ""]
    for label in labels:
        meta = _load(run_dir / "eval" / label / "metadata.json") or {}
        lines += [f"### {label}", "", f"- model: `{meta.get('model')}`", f"- wall time: {meta.get('wall_time_s')} s"]
        lines += [f"- scores: `{json.dumps(meta.get('scores'))}`"]
        diag_files = sorted((run_dir / "eval" / label).rglob("diagnostics.json"))
        overall = (_load(diag_files[0]) or {}).get("overall", {}) if diag_files else {}
        lines += [f"- {k}: {v}" for k, v in _scalars(overall)]
        steps = [r for f in sorted((run_dir / "eval" / label).rglob("*_result.json")) for r in replies(f)]
        kinds = Counter(classify_reply(text, tool_format) for _, text in steps)
        lines += [f"- replies ({len(steps)} steps, {tool_format} format): `{json.dumps(dict(kinds.most_common()))}`"]
        lines += ["", "First replies (verbatim, cut at 300 characters):", ""]
        lines += [f"    {entry}: {json.dumps(text)[:300]}" for entry, text in steps[:SAMPLES]]
        lines.append("")
    return lines


def teacher_section(run_dir: Path) -> list[str]:
    stats = _load(run_dir / "teacher" / "synth" / "stats.json")
    lines = ["## Synthesis with this model as an `hf` teacher", ""]
    if stats is None:
        return [*lines, "Not run.", ""]
    r = stats.get("rounds", {})
    lines += [
        f"- trajectories: {stats.get('accepted')} accepted of {stats.get('trajectories')}",
        f"- rounds tried: {r.get('tried')}; phase I {r.get('phase1_ok')} ok ({r.get('phase1_acceptance', 0):.0%}), "
        f"phase II {r.get('phase2_ok')} ({r.get('phase2_acceptance', 0):.0%} of phase I), "
        f"phase III {r.get('phase3_ok')} ({r.get('phase3_acceptance', 0):.0%} of phase II)",
        f"- teacher requests: {stats.get('teacher_requests')}",
        f"- rejection reasons: `{json.dumps(stats.get('rejection_reasons'))}`",
        "",
    ]
    return lines


def write_summary(run_dir: str | Path, times: dict, tool_format: str = "pythonic") -> Path:
    run_dir = Path(run_dir)
    lines = ["# A real model through the pipeline", "", "## Wall time per step", "", "| step | s |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in times.items()]
    lines += [f"| total | {round(sum(times.values()), 1)} |", ""]
    lines += eval_section(run_dir, tool_format) + teacher_section(run_dir)
    out = run_dir / "REAL_MODEL.md"
    out.write_text("\n".join(lines) + "\n")
    return out
