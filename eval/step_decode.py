"""Decode a result step into the call strings BFCL's handler would execute (the scorer's one decoder).

    from funreason.eval.step_decode import decode_step, decode_result
    decode_step("[get_weather(city='Paris')]", "pythonic")   # ["get_weather(city='Paris')"]
    decode_result(row["result"], "hermes")                   # list[turn][step] call strings, dropped steps removed

pythonic is `default_decode_execute_prompting` (compat), hermes QwenFC's `decode_execute`, fc the API FC handlers'
`convert_to_function_call` on `[{name: "<JSON args>"}]` (eval/fc.py). Steps that fail to decode or decode to no
call are dropped, as BFCL drops them. The strings run only through `envs.dispatch` (never `eval`).
"""

from __future__ import annotations

import functools
from typing import Any

from funreason.chat.formats import tool_format
from funreason.eval.fc import decode_execute
from funreason.eval.format_check import could_hold_calls


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


def decode_if_possible(raw: Any, fmt: str) -> list[str] | None:
    return decode_step(raw, fmt) if could_hold_calls(raw, fmt) else None


def raw_steps(rows: list[dict]):
    """Every raw step of every row whose result is a list of turns (inference-error strings have none)."""
    for row in rows:
        if isinstance(row["result"], list):
            for turn in row["result"]:
                yield from turn if isinstance(turn, list) else []
