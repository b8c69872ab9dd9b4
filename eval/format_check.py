"""Refuse to score a result file in a tool-call format its steps are not written in.

    from funreason.eval.format_check import check_format
    check_format(path, raw_steps, "hermes", decode)   # raises UserError when most call steps decode only otherwise

Scoring an FC-layout file as `pythonic` decodes no step, so every entry fails and the score is a real-looking 0 %.
Here every step that holds a call in *some* format counts: when fewer than half of those decode in the chosen
format and more than half decode in another one, scoring stops with one line naming the file, the counts and
the format to use. Steps that are text in every format (closing replies, refusals) are not counted, so a model
that chats or stays silent still scores its honest 0, and a model whose steps are mostly malformed calls in the
chosen format is scored, not rejected.

`raw_steps` are the steps, or keys (indices) that `decode` resolves. `decode(raw, fmt)` is the scorer's own decoder (a list of calls, or None / [] for a step without calls), so the
check uses exactly the decoding the score will use. Other formats are tried only when the chosen one decodes
fewer than half of all steps, so a well-formatted file costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.eval.bfcl_layout import FORMATS

MIN_CALL_STEPS = 3  # below this a file is too small to say what format it is in


def could_hold_calls(raw: Any, fmt: str) -> bool:
    """A necessary condition for `raw` to decode to a call in `fmt`, checked without decoding: an FC step is a list
    or dict, a hermes call needs "<tool_call>\n", a pythonic call needs "(". Skips decoding refusals and chat."""
    if fmt == "fc":
        return isinstance(raw, (list, dict))
    if not isinstance(raw, str):
        return False
    return "<tool_call>\n" in raw if fmt == "hermes" else "(" in raw


def _has_calls(decoded: Any) -> bool:
    return bool(decoded) and not (len(decoded) == 1 and not decoded[0])


def check_format(
    path: str | Path, raw_steps: Iterable[Any], fmt: str, decode: Callable[[Any, str], Any], formats=FORMATS
) -> None:
    """Raise a UserError naming `path` when most steps that hold calls decode in another format than `fmt`."""
    steps = [s for s in raw_steps if s not in ("", [], None)]
    chosen = [_has_calls(decode(s, fmt)) for s in steps]
    if 2 * sum(chosen) >= len(steps):
        return
    others = {f: [_has_calls(decode(s, f)) for s in steps] for f in formats if f != fmt}
    any_format = [c or any(o[i] for o in others.values()) for i, c in enumerate(chosen)]
    call_steps, decoded = sum(any_format), sum(chosen)
    if call_steps < MIN_CALL_STEPS or 2 * decoded >= call_steps:
        return
    best = max(others, key=lambda f: sum(others[f]))
    if 2 * sum(others[best]) <= call_steps:
        return
    raise UserError(
        f"{path}: {call_steps - decoded} of {call_steps} steps that hold tool calls do not decode as "
        f"--format {fmt}, {sum(others[best])} decode as --format {best}; score this file with --format {best}"
    )
