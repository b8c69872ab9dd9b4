"""The report's PNG charts: `report.png` (multi-turn, or the measured diagnostics when every measured score is 0),
`report_single_turn.png`, `report_agentic.png` and `report_learning_curve.png` (GRPO's curves, when a run has them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from funreason.eval.csvs import MEMORY, MULTI_TURN, groups
from funreason.eval.paper import AGENTIC_ROWS, PAPER_ROWS, SINGLE_TURN_ROWS
from funreason.eval.report_labels import QUOTED, SHORT, _non_comparable, own_categories


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
