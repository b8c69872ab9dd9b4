"""Qwen3's native tool-call format ("hermes"): one ``<tool_call>`` block of JSON per call.

    from funreason.chat import hermes
    text = hermes.render_calls([ToolCall("cd", {"folder": "docs"})])
    # '<tool_call>\\n{"name": "cd", "arguments": {"folder": "docs"}}\\n</tool_call>'
    hermes.parse(text).calls   # [ToolCall('cd', {'folder': 'docs'})]

Rendering is character-for-character what the Qwen3-4B-Instruct-2507 chat template writes for assistant
``tool_calls`` (``'<tool_call>\\n{"name": "' + name + '", "arguments": ' + arguments|tojson + '}\\n</tool_call>'``,
blocks joined by ``\\n``; transformers' ``tojson`` is ``json.dumps(ensure_ascii=False)``). The renderer itself always
goes through the template; this function exists for parsers' round-trip tests and for callers that need the text.

Parsing follows BFCL's QwenFC handler (bfcl_eval 2026.3.23, `qwen_fc.py`): blocks are found with the regex
``<tool_call>\\n(.*?)\\n</tool_call>`` (the exact newlines are required; `find_blocks` finds the
same matches in linear time) and ``json.loads``-ed; a block that is not valid JSON is skipped silently (we add a warning). Then, as its ``decode_execute`` does, every loaded block must be
an object with ``name`` and ``arguments`` (arguments may be a JSON string holding an object); anything else is a
decode error. Stricter than BFCL: a non-string name is an error (BFCL would format it into a call string that
cannot execute). ``content`` is the text with the blocks removed and trailing whitespace stripped (the text itself
when there is no block).
"""

from __future__ import annotations

import json
import re

from funreason.chat.calls import ParseResult, ToolCall

TOOL_CALL_RE = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)


_OPEN, _CLOSE = "<tool_call>\n", "\n</tool_call>"


def find_blocks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, inner) of every match of `TOOL_CALL_RE`, found in linear time.

    The regex itself is quadratic on inputs with many unclosed ``<tool_call>`` tags (each start scans to the end):
    10,000 of them take most of a minute. Same matches: the non-greedy group ends at the first closing tag after
    the opening one, and once no closing tag follows, no later opening tag can match either.
    """
    blocks, pos = [], 0
    while (start := text.find(_OPEN, pos)) != -1:
        inner_start = start + len(_OPEN)
        close = text.find(_CLOSE, inner_start)
        if close == -1:
            break
        blocks.append((start, close + len(_CLOSE), text[inner_start:close]))
        pos = close + len(_CLOSE)
    return blocks


def render_call(call: ToolCall) -> str:
    args = call.to_message()["function"]["arguments"]
    return (
        '<tool_call>\n{"name": "'
        + call.name
        + '", "arguments": '
        + json.dumps(args, ensure_ascii=False)
        + "}\n</tool_call>"
    )


def render_calls(calls: list[ToolCall]) -> str:
    return "\n".join(render_call(call) for call in calls)


def parse(text: str) -> ParseResult:
    """Extract the tool calls from an assistant output. Total: never raises, never evaluates."""
    if not isinstance(text, str):
        return ParseResult.failure("not_text", f"expected a string, got {type(text).__name__}")
    spans = find_blocks(text)
    content, last = [], 0
    for start, end, _ in spans:
        content.append(text[last:start])
        last = end
    # With calls, the whitespace around the blocks is the template's (it writes "\n" before each block), so the
    # content is what is left, right-stripped; without calls the text is kept verbatim, as BFCL keeps it.
    content = ("".join(content) + text[last:]).rstrip() if spans else text
    loaded, warnings = [], []
    for i, (_, _, block) in enumerate(spans):
        try:
            loaded.append(json.loads(block))
        except (ValueError, RecursionError) as exc:
            warnings.append(f"<tool_call> block {i} skipped, not JSON: {exc}"[:300])
    calls = []
    for i, item in enumerate(loaded):
        if not isinstance(item, dict):
            return ParseResult.failure(
                "not_a_call", f"tool call {i} is a JSON {type(item).__name__}, not an object", text
            )
        if "name" not in item or "arguments" not in item:
            missing = [k for k in ("name", "arguments") if k not in item]
            return ParseResult.failure("bad_call", f"tool call {i} lacks {' and '.join(missing)}", text)
        name, arguments = item["name"], item["arguments"]
        if not isinstance(name, str):
            return ParseResult.failure("bad_call", f"tool call {i}: name must be a string, got {name!r}"[:300], text)
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except (ValueError, RecursionError):
                return ParseResult.failure(
                    "bad_arguments", f"tool call {i} ({name}): arguments string is not JSON", text
                )
        if not isinstance(arguments, dict):
            return ParseResult.failure(
                "bad_arguments",
                f"tool call {i} ({name}): arguments must be an object, got {type(arguments).__name__}",
                text,
            )
        calls.append(ToolCall(name=name, arguments=arguments))
    return ParseResult(calls=calls, content=content, warnings=warnings)
