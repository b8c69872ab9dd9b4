"""Leaderboard-style report over evaluated models: report.md, report.png, CSVs, report.json.

    funreason report runs/smoke                      # writes runs/smoke/report/
    funreason report runs/a runs/b --out cmp/        # several runs side by side
    from funreason.eval.report import run_report_stage         # what `funreason run` calls for the report stage

Every `<run_dir>/eval/<label>/` that holds a BFCL `score/` tree (written by eval.score) is one row; its
`metadata.json` (written by eval.pipeline: model, format, sampling, tokens, wall time, provenance) and
`score/<model_dir>/diagnostics.json` fill the rest. The FunReason-MT paper's rows are printed beside them, marked
"quoted, not measured". Nothing here re-scores: the report reads what scoring wrote.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from funreason.core.atomic import atomic_write_json, atomic_write_text
from funreason.core.errors import UserError
from funreason.core.layout import RunLayout
from funreason.core.provenance import collect
from funreason.envs.bfcl import bfcl_version
from funreason.eval.csvs import (
    CSV_FILES,
    MEMORY,
    MULTI_TURN,
    WEB,
    format_sensitivity,
    groups,
    overall_note,
    write_leaderboard_csvs,
)
from funreason.eval.paper import (
    AGENTIC_ROWS,
    AGENTIC_SOURCE,
    LEADERBOARD_V4_ROWS,
    LEADERBOARD_V4_SOURCE,
    PAPER_ROWS,
    PAPER_SOURCE,
    SINGLE_TURN_ROWS,
    SINGLE_TURN_SOURCE,
)
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


def _leaderboard(labels: list[dict]) -> list[str]:
    head = "| Model | Source | MT Overall | Base | Miss Func | Miss Param | Long Ctx |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for x in labels:
        g = groups(x["scores"])
        cells = []
        for cat in MULTI_TURN:
            h = x["scores"].get(cat)
            cell = _pct(h["accuracy"]) if h else "N/A"
            if h and h.get("total_count") not in (None, 200):
                cell += f" (n={h['total_count']})"
            cells.append(cell)
        lines.append(f"| {x['name']} | measured | {_pct(g['Multi-Turn']['display'])} | " + " | ".join(cells) + " |")
    for name, *values in PAPER_ROWS:
        lines.append(f"| {name} | {QUOTED} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    for r in LEADERBOARD_V4_ROWS:
        values = [r.multi_turn, r.base, r.miss_func, r.miss_param, r.long_context]
        lines.append(f"| {r.model} | {QUOTED_V4} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    return lines


def _points(value: Any) -> str:
    return "N/A" if value == "N/A" else f"{value:.2f}"


def _overall(labels: list[dict]) -> list[str]:
    """BFCL v4 group scores, measured (N/A where a group was not run; BFCL would count it as 0), with format
    sensitivity's max delta and std (percentage points; N/A where not run), then the leaderboard's own rows for the
    best small open models (their format sensitivity not quoted: "–")."""
    cols = ["Overall", "Non-Live", "Live", "Irrelevance", "Multi-Turn", "Agentic", "Memory", "Web Search"]
    head = "| Model | Source | " + " | ".join(cols) + " | Relevance | FS Max Delta | FS Std |"
    lines = [head, "|---|---|" + "---|" * (len(cols) + 3)]
    for x in labels:
        g = groups(x["scores"])
        delta, std, _ = format_sensitivity(x["scores"])
        cells = [_pct(g[c]["display"]) for c in cols] + [_pct(g["live_relevance"]["display"]), _points(delta), _points(std)]  # fmt: skip
        lines.append(f"| {x['name']} | measured | " + " | ".join(cells) + " |")
    for r in LEADERBOARD_V4_ROWS:
        values = [r.overall, r.non_live, r.live, r.irrelevance, r.multi_turn, r.agentic, r.memory, r.web_search]
        lines.append(f"| {r.model} | {QUOTED_V4} | " + " | ".join(f"{v:.2f}" for v in [*values, r.relevance]) + " | – | – |")  # fmt: skip
    return lines


def _single_turn(labels: list[dict]) -> list[str]:
    head = "| Model | Source | ST Overall | Non-Live | Live | Irrelevance |"
    lines = [head, "|---|---|---|---|---|---|"]
    for x in labels:
        g = groups(x["scores"])
        nl, live = g["Non-Live"]["display"], g["Live"]["display"]
        st = "N/A" if "N/A" in (nl, live) else (nl + live) / 2
        cells = [_pct(st), _pct(nl), _pct(live), _pct(g["Irrelevance"]["display"])]
        lines.append(f"| {x['name']} | measured | " + " | ".join(cells) + " |")
    for name, *values in SINGLE_TURN_ROWS:
        lines.append(f"| {name} | {QUOTED} | " + " | ".join(f"{v:.2f}" for v in values) + " | – |")
    return lines


def _non_comparable(x: dict) -> str:
    """Web search run against a frozen corpus (metadata `web_search_corpus`, set by the runner) is not the live web."""
    corpus = x["metadata"].get("web_search_corpus")
    return f" (web search: frozen corpus {Path(str(corpus)).name}, not comparable)" if corpus else ""


def _agentic(labels: list[dict]) -> list[str]:
    head = "| Model | Source | Overall (mean of WS, Memory) | Web Search | WS Base | WS No Snippet | Memory | KV | Vector | Rec. Sum |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for x in labels:
        g = groups(x["scores"])
        cells = [g["Agentic"], g["Web Search"], *(g[c] for c in WEB), g["Memory"], *(g[c] for c in MEMORY)]
        lines.append(
            f"| {x['name']}{_non_comparable(x)} | measured | " + " | ".join(_pct(c["display"]) for c in cells) + " |"
        )
    for name, *values in AGENTIC_ROWS:
        lines.append(f"| {name} | {QUOTED} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    return lines


def _diagnostics(labels: list[dict]) -> list[str]:
    lines = [
        "| Model | steps with a decodable call | calls to existing tools | checked turns passed | steps per turn |",
        "|---|---|---|---|---|",
    ]
    for x in labels:
        o = x["diagnostics"].get("overall", {})
        spt = o.get("steps_per_turn_mean")
        lines.append(
            f"| {x['name']} | {_share(o.get('decodable_call_share'))} ({o.get('decodable_steps', 0)}/{o.get('steps', 0)})"
            f" | {_share(o.get('existing_tool_share'))} ({o.get('existing_tool_calls', 0)}/{o.get('calls', 0)})"
            f" | {_share(o.get('turns_passed_share'))} ({o.get('turns_passed', 0)}/{o.get('checked_turns', 0)})"
            f" | {'–' if spt is None else f'{spt:.2f}'} |"
        )
    return lines


def _histogram_table(labels: list[dict], key: str, first_col: str) -> list[str]:
    keys: list[str] = []
    for x in labels:
        for k in x["diagnostics"].get("overall", {}).get(key, {}):
            if k not in keys:
                keys.append(k)
    if not keys:
        return ["(no data)"]
    lines = [f"| {first_col} | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for x in labels:
        h = x["diagnostics"].get("overall", {}).get(key, {})
        lines.append(f"| {x['name']} | " + " | ".join(str(h.get(k, 0)) for k in keys) + " |")
    return lines


def _costs(labels: list[dict]) -> list[str]:
    lines = [
        "| Model | format | sampling | max new tokens | prompt tokens | completion tokens | wall time (s) | entries |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in labels:
        m, o = x["metadata"], x["diagnostics"].get("overall", {})
        tokens = m.get("token_counts", {})
        prompt = tokens.get("prompt", o.get("input_tokens", "–"))
        completion = tokens.get("completion", o.get("output_tokens", "–"))
        sampling = ", ".join(f"{k}={v}" for k, v in (m.get("sampling") or {}).items() if v is not None) or "–"
        fmt = m.get("tool_format", m.get("format", x["diagnostics"].get("format", "–")))
        lines.append(
            f"| {x['name']} | {fmt} | {sampling} | {m.get('max_new_tokens', m.get('max_tokens', '–'))} | {prompt}"
            f" | {completion} | {m.get('wall_time_s', '–')} | {o.get('entries', '–')} |"
        )
    return lines


def _provenance_items(prov: dict) -> dict[str, str]:
    """One provenance record as labelled items (what two models' records are compared by)."""
    if not prov:
        return {}
    git = prov.get("git") or {}
    items = {
        "packages": ", ".join(f"{k} {v}" for k, v in (prov.get("packages") or {}).items() if v),
        "git": f"{git.get('commit') or 'unknown'}{' (dirty)' if git.get('dirty') else ''}",
        "python": str(prov.get("python", "?")),
        "platform": str(prov.get("platform", "?")),
    }
    recipe = prov.get("recipe") or {}
    if recipe:
        items["recipe"] = f"`{recipe.get('source') or '?'}`"
        items["model"] = f"`{recipe.get('model', '?')}`"
        items["seed"] = str(recipe.get("seed", "?"))
    if prov.get("evaluated_model"):  # added by the report from the label's metadata: what was evaluated
        items["evaluated model"] = f"`{prov['evaluated_model']}`"
    for path, digest in (prov.get("data_files") or {}).items():
        items[f"file:{path}"] = digest
    return items


def file_names(paths: list[str]) -> dict[str, str]:
    """Each path's shortest tail of folders that no other path shares: two different files both called
    `BFCL_v4_multi_turn_base.json` (the questions and the possible answers) become `data/...` and
    `possible_answer/...`, never the same name twice."""
    parts = {p: Path(p).parts for p in paths}
    names = {}
    for p, mine in parts.items():
        for k in range(1, len(mine) + 1):
            tail = mine[-k:]
            if all(other[-k:] != tail for q, other in parts.items() if q != p):
                break
        names[p] = "/".join(tail)
    return names


def _label_provenance(x: dict) -> dict:
    """A label's provenance plus the model it evaluated (metadata `model`), which differs per label."""
    prov = x["metadata"].get("provenance", {})
    model = x["metadata"].get("model")
    return {**prov, "evaluated_model": model} if prov and model else prov


def _provenance_section(records: list[tuple[str, dict]]) -> list[str]:
    """What every model shares, once; then, per model and for the report (the last record), only what differs
    (files named unambiguously)."""
    items = {name: _provenance_items(prov) for name, prov in records}
    recorded = [items[name] for name, prov in records[:-1] if prov]  # the models (the last record is the report)
    keys = {k for i in recorded for k in i}
    first = recorded[0] if recorded else {}
    shared = {k: first[k] for k in sorted(keys) if k in first and all(i.get(k) == first[k] for i in recorded)}
    if len(recorded) < 2:
        shared = {}
    names = file_names(sorted({k[5:] for k in keys if k.startswith("file:")}))

    def lines(entries: dict[str, str], indent: str) -> list[str]:
        out = [f"{indent}- {k}: {v}" for k, v in entries.items() if not k.startswith("file:")]
        out += [f"{indent}- file `{names[k[5:]]}` sha256 `{v}`" for k, v in entries.items() if k.startswith("file:")]
        return out

    out = []
    if shared:
        out += ["Shared by every model:", *lines(shared, "")]
        out.append("")
    for name, prov in records:
        own = {k: v for k, v in items[name].items() if k not in shared}
        when = prov.get("timestamp", "?") if prov else None
        if not prov:
            out.append(f"- **{name}**: no provenance recorded")
            continue
        out.append(f"- **{name}** (at {when})" + (":" if own else ": nothing else differs"))
        out += lines(own, "  ")
    return out


def write_markdown(labels: list[dict], out: Path, title: str, provenance: dict, check: dict | None = None) -> Path:

    notes = [f"- **{x['name']}**: {overall_note(x['scores'])}" for x in labels]
    lines = [
        f"# {title}",
        "",
        f"BFCL multi-turn accuracy (%), scored with our checker (parity-tested against bfcl-eval {bfcl_version()}).",
        f'Rows marked "{QUOTED}" are copied from {PAPER_SOURCE}; BFCL\'s multi-turn data changed between v3 and v4,',
        "so they are context, not a like-for-like comparison. `(n=…)` marks a category scored on a subset.",
        f'Rows marked "{QUOTED_V4}" are the best open models of at most 4B parameters on multi-turn, and the base',
        f"model in both modes, from the {LEADERBOARD_V4_SOURCE}: v4 data, scored by an earlier bfcl-eval release.",
        "",
        "## Leaderboard",
        "",
        *_leaderboard(labels),
        "",
        *notes,
        "",
        *_learning_check(check),
        *_own_categories(labels),
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
        "## Single-turn",
        "",
        f'"{QUOTED}" rows: {SINGLE_TURN_SOURCE}. Measured Non-Live and Live are BFCL v4\'s AST groups; ST Overall '
        "is their mean, the paper's definition.",
        "",
        *_single_turn(labels),
        "",
        "## Agentic (memory, web search)",
        "",
        f'"{QUOTED}" rows: {AGENTIC_SOURCE}. Web search needs the live web; a run against a frozen corpus is marked '
        "not comparable.",
        "",
        *_agentic(labels),
        "",
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
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def write_chart(labels: list[dict], out: Path, title: str) -> Path:
    """`report.png`: the multi-turn columns of every measured model beside the paper's quoted rows; when every
    measured value is 0 (or not run), the measured diagnostics instead, so the picture shows what did move."""
    cats = ["MT Overall", *(SHORT[c] for c in MULTI_TURN)]
    series = []
    for x in labels:
        g = groups(x["scores"])
        values = [g["Multi-Turn"]["display"], *(g[c]["display"] for c in MULTI_TURN)]
        series.append((x["name"], [float("nan") if v == "N/A" else v * 100 for v in values], False))
    if all(not v or v != v for _, values, _ in series for v in values):  # all 0 or NaN
        return write_diagnostics_chart(labels, out, title)
    for name, *values in PAPER_ROWS[:3]:
        series.append((f"{name} [{QUOTED}]", list(values), True))
    return _bars(series, cats, f"{title}: BFCL multi-turn", out / "report.png")


def own_categories(labels: list[dict]) -> list[str]:
    """Multi-turn categories of question files of our own (synth/heldout.py's `synthtest`), in first-seen order."""
    cats: list[str] = []
    for x in labels:
        for cat in x["scores"]:
            if cat.startswith("multi_turn_") and cat not in MULTI_TURN and cat not in cats:
                cats.append(cat)
    return cats


def write_diagnostics_chart(labels: list[dict], out: Path, title: str) -> Path:
    """`report.png` when every measured accuracy is 0: what the eval's diagnostics measured, per model, plus the
    accuracy on categories of our own (held-out splits); the quoted rows are left out (nothing to compare)."""
    own = own_categories(labels)
    cats = ["decodable steps", "calls to existing tools", "checked turns passed", *(f"{c[11:]} acc." for c in own)]
    series = []
    for x in labels:
        o = x["diagnostics"].get("overall", {})
        values = [o.get("decodable_call_share"), o.get("existing_tool_share"), o.get("turns_passed_share")]
        values += [(x["scores"].get(c) or {}).get("accuracy") for c in own]
        series.append((x["name"], [float("nan") if v is None else v * 100 for v in values], False))
    heading = f"{title}: no BFCL score above 0 (or none run); the measured diagnostics instead"
    return _bars(series, cats, heading, out / "report.png", ylabel="share (%)")


def read_curves(run_dirs: list[Path]) -> list[tuple[str, dict]]:
    """(run name, grpo/train_summary.json) for every run whose GRPO stage wrote one."""
    curves = []
    for run_dir in run_dirs:
        path = RunLayout.at(run_dir).grpo_dir / "train_summary.json"
        if path.is_file():
            curves.append((run_dir.name, _read_json(path)))
    return curves


def write_learning_curve(curves: list[tuple[str, dict]], out: Path, title: str) -> Path | None:
    """`report_learning_curve.png`: held-out turn success and the training reward against GRPO steps, per run."""
    drawn = [(name, c) for name, c in curves if c.get("heldout_curve") or c.get("reward_curve")]
    if not drawn:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for i, (name, c) in enumerate(drawn):
        color = f"C{i}"
        if c.get("heldout_curve"):
            xs, ys = zip(*c["heldout_curve"], strict=True)
            ax.plot(xs, ys, "o-", color=color, label=f"{name}: held-out turn success")
        if c.get("reward_curve"):
            xs, ys = zip(*c["reward_curve"], strict=True)
            ax.plot(xs, ys, "-", color=color, alpha=0.45, label=f"{name}: train reward")
        if c.get("turn_success_curve"):
            xs, ys = zip(*c["turn_success_curve"], strict=True)
            ax.plot(xs, ys, ":", color=color, alpha=0.6, label=f"{name}: train turn success")
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("share of turns / reward")
    ax.set_ylim(0, 1.15)
    ax.set_title(f"{title}: learning curve")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    path = out / "report_learning_curve.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


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


def _own_categories(labels: list[dict]) -> list[str]:
    own = own_categories(labels)
    if not own:
        return []
    lines = [
        "## Categories of our own (held-out splits)",
        "",
        "Question files whose ids name their own category (synth/heldout.py), scored by the same checker.",
        "",
        "| Model | Category | accuracy (entries) | checked turns passed |",
        "|---|---|---|---|",
    ]
    for x in labels:
        per_cat = x["diagnostics"].get("per_category", {})
        for cat in own:
            h = x["scores"].get(cat)
            if not h:
                continue
            d = per_cat.get(cat, {})
            lines.append(
                f"| {x['name']} | {cat[11:]} | {_pct(h['accuracy'])} (n={h.get('total_count')}) "
                f"| {_share(d.get('turns_passed_share'))} ({d.get('turns_passed', 0)}/{d.get('checked_turns', 0)}) |"
            )
    return [*lines, ""]


def _bars(
    series: list[tuple[str, list[float], bool]], cats: list[str], title: str, path: Path, ylabel: str = "accuracy (%)"
) -> Path:
    """One grouped bar chart: measured series solid, quoted ones hatched and faded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / max(len(series), 1)
    xs = np.arange(len(cats))
    for i, (name, values, quoted) in enumerate(series):
        ax.bar(xs + i * width - 0.4 + width / 2, values, width, label=name, hatch="//" if quoted else None,
               alpha=0.45 if quoted else 0.9, edgecolor="black", linewidth=0.4)  # fmt: skip
    ax.set_xticks(xs, cats)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # long legend labels stay inside the picture
    plt.close(fig)
    return path


def write_group_charts(labels: list[dict], out: Path, title: str) -> list[Path]:
    """`report_single_turn.png` and `report_agentic.png`: measured rows beside the quoted ones."""
    nan = float("nan")

    def value(v: Any) -> float:
        return nan if v == "N/A" else v * 100

    single, agentic = [], []
    for x in labels:
        g = groups(x["scores"])
        nl, live = g["Non-Live"]["display"], g["Live"]["display"]
        st = "N/A" if "N/A" in (nl, live) else (nl + live) / 2
        single.append((x["name"], [value(st), value(nl), value(live)], False))
        parts = [g["Agentic"], g["Web Search"], g["Memory"], *(g[c] for c in MEMORY)]
        agentic.append((x["name"] + _non_comparable(x), [value(p["display"]) for p in parts], False))
    single += [(f"{name} [{QUOTED}]", list(values), True) for name, *values in SINGLE_TURN_ROWS]
    agentic += [(f"{n} [{QUOTED}]", [o, ws, m, kv, vec, rs], True) for n, o, ws, _, _, m, kv, vec, rs in AGENTIC_ROWS]
    return [
        _bars(single, ["ST Overall", "Non-Live", "Live"], f"{title}: BFCL single-turn", out / "report_single_turn.png"),
        _bars(
            agentic,
            ["Overall (WS, Mem)", "Web Search", "Memory", "KV", "Vector", "Rec. Sum"],
            f"{title}: BFCL v4 agentic",
            out / "report_agentic.png",
        ),  # fmt: skip
    ]


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
