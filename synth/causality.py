"""Value flow in a dialogue: which call needs which earlier call's *result* (invariant 6 of docs/design.md).

    from funreason.synth.causality import premature_calls
    premature_calls(record)             # [] when no call uses a value before the tool result that shows it

A value an assistant call passes is *unseen* when none of its written forms (JSON, repr, str) occurs in what the
dialogue has shown so far: the tool docs, the user's words, earlier tool results and earlier calls' own arguments
(a name the assistant chose itself, `mkdir(dir_name='x')` then `cd(folder='x')`, is its own). A call is
*premature* when one of its unseen values occurs in a tool result returned after it: it was emitted before the
result that shows the value (`[authenticate_travel(...), get_credit_card_balance(access_token='804437')]` in one
step). Values of one or two characters (flags, small counts) are too common to tell anything and are skipped.

Statistics count `premature_calls` in every record (0 is the contract, whatever the teacher); the template
teacher's reasoning agent avoids them by reading the request (synth/teachers/requests.py: a call that refers to a
result of the same request waits until that result is in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MIN_CHARS = 3  # shorter values ("1", "ok") occur by chance everywhere


def leaves(value: Any) -> Iterable[Any]:
    """The scalar values inside an argument (lists and dicts flattened)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def forms(value: Any) -> set[str]:
    """How a value can be written in a message or a result string."""
    if isinstance(value, bool) or value is None:
        return set()
    out = {str(value), repr(value), json.dumps(value, ensure_ascii=False)}
    return {f for f in out if len(f) >= MIN_CHARS}


def unseen_values(arguments: dict, shown: str) -> list[Any]:
    """The argument values (of at least MIN_CHARS) that `shown` never wrote, in any form."""
    out = []
    for value in leaves(arguments):
        written = forms(value)
        if written and not any(f in shown for f in written):
            out.append(value)
    return out


def _call_text(arguments: dict) -> str:
    return " ".join(str(v) for v in leaves(arguments))


def premature_calls(record: dict) -> list[tuple[int, str, Any]]:
    """(message index, tool, value) for every call of `record` that uses a value only a later tool result shows."""
    messages = record["messages"]
    shown = json.dumps(record.get("tools", []), ensure_ascii=False)
    later = [m.get("content") or "" if m["role"] == "tool" else "" for m in messages]
    out = []
    for i, message in enumerate(messages):
        if message["role"] in ("user", "tool"):
            shown += " " + (message.get("content") or "")
            continue
        if message["role"] != "assistant":
            continue
        rest = " ".join(later[i + 1 :])
        for call in message.get("tool_calls") or []:
            arguments = call["function"]["arguments"]
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
            for value in unseen_values(arguments, shown):
                if any(f in rest for f in forms(value)):
                    out.append((i, call["function"]["name"], value))
            shown += " " + _call_text(arguments)
    return out
