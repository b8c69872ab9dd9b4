"""Decode a single-turn result (one model output) as BFCL's `decode_ast` does, for each tool-call format.

    from funreason.eval.ast_decode import decode_ast, decode_prompting, is_function_calling_format_output, is_empty_output
    decoded, error = decode_ast("[math.factorial(n=5)]", "pythonic", "python")   # [{"math.factorial": {"n": 5}}], None
    decoded, error = decode_ast('[get_x(a="new int[]{1}")]', "pythonic", "java")  # through BFCL's tree-sitter parser
    decoded, error = decode_ast([{"f": '{"a": 1}'}], "fc")                        # [{"f": {"a": 1}}], None
    decoded, error = decode_prompting('<TOOLCALL>[{"function": "f", "parameters": {}}]</TOOLCALL>', "json", True)

`error` is a message where BFCL's decoder raises (`ast_decoder:decoder_failed`; for relevance categories, "no
call"). Formats, as BFCL's handlers decode (bfcl-eval 2026.3.23):

- `pythonic`, Python: `default_decode_ast_prompting` (strip backticks/newlines/spaces, wrap in `[...]`, `ast.parse`,
  keyword arguments only) through `chat.pythonic`'s compat parser: values are literals, and the arithmetic BFCL
  `eval`s is computed by a bounded evaluator (never `eval`);
- `pythonic`, Java / JavaScript: BFCL parses `[func(param="<literal>")]` with tree-sitter
  (`model_handler/parser/java_parser.py`, `js_parser.py`); those parsers are called as they are (parsing only; the
  values stay strings until the checker's type converters read them). They need `tree-sitter==0.21.3`,
  `tree-sitter-java==0.21.0`, `tree-sitter-javascript==0.21.4` (bfcl-eval's own pins);
- `hermes`: QwenFC's `decode_ast` (`<tool_call>\\n{json}\\n</tool_call>` blocks, malformed ones skipped);
- `fc`: the API FC handlers' `decode_ast` (eval/fc.py).

`decode_prompting` is the prompting decoder with a format-sensitivity config's return format and tool-call tag
(`default_decode_ast_prompting(raw, ReturnFormat(return_format), has_tool_call_tag)`): strip and wrap as above;
with the tag, keep what the first <TOOLCALL>...</TOOLCALL> holds (stripped, not wrapped again; no tag is a
failure); then python as above, json / verbose_xml / concise_xml through eval/json_xml_decode.py.

Relevance and irrelevance categories decode every output as Python (`language=PYTHON`), as BFCL does.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from funreason.chat import pythonic
from funreason.chat.hermes import find_blocks
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval.bfcl_layout import FORMATS
from funreason.eval.fc import decode_ast as fc_decode
from funreason.eval.json_xml_decode import decode_concise_xml, decode_json, decode_verbose_xml, find_between

MARKUP_DECODERS = {"json": decode_json, "verbose_xml": decode_verbose_xml, "concise_xml": decode_concise_xml}


def is_function_calling_format_output(decoded: Any) -> bool:
    """BFCL's check that a decode is `[{name: {param: value}}, ...]` (an empty list counts as well-formed)."""
    if type(decoded) is not list:
        return False
    for item in decoded:
        if type(item) is not dict or len(item) != 1 or type(next(iter(item.values()))) is not dict:
            return False
    return True


def is_empty_output(decoded: Any) -> bool:
    """BFCL's relevance patch: anything not in call format, `[]` and `[{}]` hold no call."""
    if not is_function_calling_format_output(decoded):
        return True
    return len(decoded) == 0 or (len(decoded) == 1 and len(decoded[0]) == 0)


@cache
def _tree_sitter_parser(language: str):

    bfcl.ensure_project_root()
    try:
        if language == "java":
            from bfcl_eval.model_handler.parser.java_parser import parse_java_function_call as parse
        else:
            from bfcl_eval.model_handler.parser.js_parser import parse_javascript_function_call as parse
    except ModuleNotFoundError as exc:
        raise UserError(
            f"scoring {language} results in the pythonic format needs BFCL's tree-sitter parsers ({exc}); install "
            "tree-sitter==0.21.3 tree-sitter-java==0.21.0 tree-sitter-javascript==0.21.4"
        ) from None
    return parse


def _python(text: str, wrapped: bool = True) -> tuple[Any, str | None]:
    parsed = pythonic.parse(text, mode="compat", execute=False, wrapped=wrapped)
    if not parsed.ok:
        return None, parsed.error
    # `**x` arguments: BFCL's `resolve_ast_call` keys them None; chat.pythonic writes "None" (its execution
    # string), which no real keyword can be (`None=` does not parse)
    return [{c.name: {None if k == "None" else k: v for k, v in c.arguments.items()}} for c in parsed.calls], None


def _pythonic(raw: Any, language: str) -> tuple[Any, str | None]:
    if not isinstance(raw, str):
        return None, f"'{type(raw).__name__}' object has no attribute 'strip'"
    if language == "python":
        return _python(raw)
    parse = _tree_sitter_parser(language)
    try:
        return parse(pythonic.wrap(raw)[1:-1]), None  # BFCL drops the brackets it added ("legacy reasons")
    except Exception as exc:  # the parsers raise SyntaxError, Exception and AttributeError on odd trees
        return None, f"{type(exc).__name__}: {exc}"


def _hermes(raw: Any) -> tuple[Any, str | None]:

    if not isinstance(raw, str):
        return None, f"expected string or bytes-like object, got '{type(raw).__name__}'"
    calls = []
    for _, _, block in find_blocks(raw):
        try:
            calls.append(json.loads(block))
        except (ValueError, RecursionError):
            continue  # QwenFC skips blocks that are not JSON
    if any(type(c) is not dict for c in calls):
        return None, f"Model did not return a list of function calls: {raw}"
    decoded = []
    for call in calls:
        if "name" not in call:
            return None, "KeyError: 'name'"
        name = call["name"]
        if isinstance(name, (dict, list)):
            return None, f"TypeError: unhashable type: '{type(name).__name__}'"
        if "arguments" not in call:
            return None, "KeyError: 'arguments'"
        if not isinstance(call["arguments"], dict):
            return None, f"AttributeError: '{type(call['arguments']).__name__}' object has no attribute 'items'"
        decoded.append({name: dict(call["arguments"])})
    return decoded, None


def decode_ast(raw: Any, fmt: str, language: str = "python") -> tuple[Any, str | None]:
    """(decoded, None), or (None, why BFCL's decoder would raise)."""
    if fmt == "pythonic":
        return _pythonic(raw, language)
    if fmt == "hermes":
        return _hermes(raw)
    if fmt == "fc":
        decoded = fc_decode(raw)
        return (decoded, None) if decoded is not None else (None, "not a list of {name: JSON arguments} calls")
    raise UserError(f"unknown tool-call format {fmt!r}; expected one of {list(FORMATS)}")


def decode_prompting(raw: Any, return_format: str = "python", tool_call_tag: bool = False) -> tuple[Any, str | None]:
    """(decoded, None), or (None, why BFCL's `default_decode_ast_prompting` would raise) for a prompting output in
    a format-sensitivity config's return format (python, json, verbose_xml, concise_xml), with or without the tag."""
    if return_format != "python" and return_format not in MARKUP_DECODERS:
        raise UserError(f"unknown return format {return_format!r}; expected python or one of {list(MARKUP_DECODERS)}")
    if not isinstance(raw, str):
        return None, f"'{type(raw).__name__}' object has no attribute 'strip'"
    text = pythonic.wrap(raw)
    if tool_call_tag:
        span = find_between(text, "<TOOLCALL>", "</TOOLCALL>")
        if span is None:
            return None, f"No tool call tag found in input string: {text}"
        text = text[span[0] + len("<TOOLCALL>") : span[1]].strip()
    if return_format == "python":
        return _python(text, wrapped=False)
    try:
        return MARKUP_DECODERS[return_format](text), None
    except Exception as exc:  # what BFCL's parsers raise on model text: KeyError, ParseError, ValueError, ...
        return None, f"{type(exc).__name__}: {exc}"
