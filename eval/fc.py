"""BFCL's function-calling (FC) result layout: each step is a list of `{name: "<JSON arguments>"}`.

    from funreason.eval.fc import decode_execute, decode_ast
    decode_execute([{"cd": '{"folder": "docs"}'}])     # ["cd(folder='docs')"]   (multi-turn: what BFCL executes)
    decode_execute("Done, the file is moved.")         # None: BFCL's decoder raises, the step is dropped
    decode_ast([{"math.factorial": '{"n": 5}'}])       # [{"math.factorial": {"n": 5}}] (single-turn AST checking)

This is how API FC handlers (OpenAI, Claude, Mistral, ...; bfcl_eval 2026.3.23) write a step: `tool_calls` become
`[{call.function.name: call.function.arguments}]`; a reply without tool calls is its text (`message.content`).
Decoding follows those handlers exactly, reproducing every way BFCL's code raises as a `None` here:

- `decode_execute` = `model_handler.utils.convert_to_function_call`: a dict step is wrapped in a list; every
  item must be a dict (a text step iterates characters and raises, so text steps are dropped; `""` decodes to
  `[]`, which the evaluator drops as empty); a string value is `json.loads`-ed, anything else is used as is, and
  the result must be a dict; each call string is `name(k=repr(v),...)` joined by "," with the name inserted
  raw. The string is only ever parsed by `envs.dispatch` (AST + literals), never `eval`-ed.
- `decode_ast` = `OpenAICompletionsHandler.decode_ast` (FC branch): for each item, its first key is the name and
  `json.loads` of that key's value (which must be a string) the arguments, whatever JSON type they are
  (`is_function_calling_format_output` rejects non-dict arguments later, as BFCL does).

Gemini's FC handler stores already-decoded `{name: {args}}` dicts and differs in `decode_ast`; its files decode
here for execution (dict values are accepted, as `convert_to_function_call` accepts them) but not for AST checks.
"""

from __future__ import annotations

import json
from typing import Any


def _loads(text: str) -> Any:
    # BFCL uses plain json.loads: NaN/Infinity are accepted, duplicate keys keep the last value
    return json.loads(text)


def decode_execute(raw: Any) -> list[str] | None:
    """`convert_to_function_call(raw)`, or None where it raises (BFCL drops the step)."""
    if type(raw) is dict:
        raw = [raw]
    if isinstance(raw, str):
        # iterating a non-empty string reaches `'c'.items()`: AttributeError; "" iterates nothing
        return [] if raw == "" else None
    if not isinstance(raw, list):
        return None  # None, numbers, booleans: not iterable, TypeError
    calls = []
    for item in raw:
        if not isinstance(item, dict):
            return None
        for name, value in item.items():
            if type(value) is str:
                try:
                    value = _loads(value)
                except (ValueError, RecursionError):
                    return None
            if not isinstance(value, dict):
                return None
            calls.append(f"{name}({','.join(f'{k}={v!r}' for k, v in value.items())})")
    return calls


def decode_ast(raw: Any) -> list | None:
    """`OpenAICompletionsHandler.decode_ast` for FC models, or None where it raises (a decode failure)."""
    if isinstance(raw, str):
        return [] if raw == "" else None
    if not isinstance(raw, list):
        return None  # a dict iterates its keys (strings): `'k'.keys()` raises; None and numbers are not iterable
    decoded = []
    for item in raw:
        if not isinstance(item, dict) or not item:
            return None  # `.keys()` on a non-dict, or `[0]` of an empty dict's keys
        name = next(iter(item))
        value = item[name]
        if not isinstance(value, str):
            return None  # json.loads of a non-string raises TypeError
        try:
            decoded.append({name: _loads(value)})
        except (ValueError, RecursionError):
            return None
    return decoded
