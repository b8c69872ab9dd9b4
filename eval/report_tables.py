"""report.md's tables over the measured models, each beside the paper's or the BFCL v4 leaderboard's quoted rows:
multi-turn leaderboard, BFCL v4 groups, single-turn, agentic, our own categories, diagnostics, costs.
"""

from __future__ import annotations

from typing import Any

from funreason.eval.csvs import MEMORY, MULTI_TURN, WEB, format_sensitivity, groups
from funreason.eval.paper import AGENTIC_ROWS, LEADERBOARD_V4_ROWS, PAPER_ROWS, SINGLE_TURN_ROWS
from funreason.eval.report_labels import QUOTED, QUOTED_V4, _non_comparable, _pct, _share, own_categories


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
