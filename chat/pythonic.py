"""BFCL prompting format: the model answers with a Python list of calls, ``[cd(folder='docs'), ls()]``.

    from funreason.chat import pythonic
    pythonic.system_prompt(bfcl_docs)            # BFCL's default prompting system prompt, byte-exact
    pythonic.render_calls([ToolCall("ls", {})])  # "[ls()]"
    pythonic.parse("[cd(folder='docs')]")        # ParseResult(calls=[ToolCall('cd', {'folder': 'docs'})], ...)
    pythonic.parse("[sort('a.txt')]", mode="strict", tools=docs)  # positional mapped through the schema

Modes (checked against bfcl_eval 2026.3.23 `default_decode_execute_prompting` / `ast_parse` /
`resolve_ast_by_type`):

- ``compat`` decodes exactly as BFCL does: strip backticks, newlines and spaces from both ends, wrap in ``[...]``,
  ``ast.parse``; the body must be a call or a list of calls; keyword arguments only (positional ones are dropped
  silently, we add a warning); so a fenced ```` ```python ```` block or prose around the list fails. Argument values
  follow BFCL's rules: literals; ``-x`` is ``-(constant)`` (so ``+1`` decodes to ``-1``, as in BFCL); a bare name
  becomes its identifier string; a call without keywords becomes its source string; a call with keywords becomes
  a nested ``{name: {kwargs}}`` dict; a subscript becomes its source string; lambdas, attributes, f-strings,
  comprehensions, sets, comparisons ... fail.
- ``strict``: the same surface syntax, but positional arguments are mapped to parameter names in the order of the
  tool's ``parameters.properties`` (kept in ``ToolCall.positional`` when the tool is unknown or no tools are
  given), a name not among ``tools`` is an error, and values must be literals (no bare names, nested calls or
  subscripts; ``+``/``-`` mean what Python means).

Safety policy (invariant 2 of docs/design.md): BFCL runs ``eval(ast.unparse(node))`` on any binary-operation argument. We
never evaluate model text. Instead a tiny evaluator accepts only number/string/bytes constants combined with
``+ - * / // % **`` and unary ``+ -`` and bounds the work (integers up to 4096 bits, exponents up to 10,000,
strings up to 100,000 characters, ``%`` not applied to strings since it formats). Everything else (names,
calls, attribute access, ...) is an ``unsafe_expression`` decode error. BFCL's ``eval`` would succeed on some of
those (e.g. ``len('ab') + 1``); such outputs decode in BFCL but fail here, a deliberate, documented difference.
"""

from __future__ import annotations

import ast
import operator
import warnings
from typing import Any, Literal

from funreason.chat import format_sensitivity
from funreason.chat.calls import ParseResult, ToolCall
from funreason.chat.schemas import as_bfcl_docs


def system_prompt(functions: list[dict]) -> str:
    """BFCL's default prompting system prompt for these function docs (BFCL dialect), byte-exact: its
    DEFAULT_SYSTEM_PROMPT_FORMAT, one of the format-sensitivity configs (chat/format_sensitivity.py)."""
    return format_sensitivity.system_prompt(format_sensitivity.DEFAULT_CONFIG, functions)


def render_calls(calls: list[ToolCall]) -> str:
    """The assistant text for these calls: ``[f(a=1), g(b='x')]``, which both parse modes read back unchanged."""
    return "[" + ", ".join(call.to_python(style="literal") for call in calls) + "]"


class _Reject(Exception):
    """Internal: a decode failure with a type; turned into a ParseResult, never escapes `parse`."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


# ---- safe arithmetic (the replacement for BFCL's eval of BinOp arguments) ----

_MAX_INT_BITS = 4096
_MAX_EXPONENT = 10_000
_MAX_STR = 100_000
_NUMBER = (int, float, complex)  # bool is an int
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, int):
        return value.bit_length()
    return 0


def _check_bounds(op: type, left: Any, right: Any) -> None:
    if op is ast.Pow:
        if not isinstance(right, _NUMBER) or not isinstance(left, _NUMBER):
            raise _Reject("unsafe_expression", "** needs numbers")
        if abs(right) > _MAX_EXPONENT:
            raise _Reject("unsafe_expression", f"exponent {right!r} is out of bounds")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() * abs(right) > _MAX_INT_BITS:
            raise _Reject("unsafe_expression", "integer power result is out of bounds")
    elif op is ast.Mult:
        seq, count = (left, right) if isinstance(left, (str, bytes)) else (right, left)
        if isinstance(seq, (str, bytes)) and isinstance(count, int):
            if len(seq) * max(count, 0) > _MAX_STR:
                raise _Reject("unsafe_expression", "repeated string is out of bounds")
        elif isinstance(left, int) and isinstance(right, int) and _size(left) + _size(right) > _MAX_INT_BITS:
            raise _Reject("unsafe_expression", "integer product is out of bounds")
    elif op is ast.Mod and isinstance(left, (str, bytes)):
        raise _Reject("unsafe_expression", "'%' string formatting is not evaluated")


def _arith(node: ast.AST) -> Any:
    """Evaluate constant arithmetic; reject anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (*_NUMBER, str, bytes)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _arith(node.operand)
        if not isinstance(operand, _NUMBER):
            raise _Reject("unsafe_expression", f"unary {type(node.op).__name__} needs a number")
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _arith(node.left), _arith(node.right)
        _check_bounds(type(node.op), left, right)
        try:
            result = _BINOPS[type(node.op)](left, right)
        except (ArithmeticError, TypeError, ValueError) as exc:  # 1/0, 'a'-1, 2.0**5000 ...
            raise _Reject("unsafe_expression", f"arithmetic failed: {type(exc).__name__}: {exc}") from None
        if _size(result) > max(_MAX_STR, _MAX_INT_BITS):
            raise _Reject("unsafe_expression", "arithmetic result is out of bounds")
        return result
    raise _Reject("unsafe_expression", f"only constant arithmetic is evaluated, not {type(node).__name__}")


# ---- value resolution ----


def _unparse(node: ast.AST) -> str:
    return ast.unparse(node)


def _call_name(call: ast.Call) -> str:
    """BFCL `resolve_ast_call`: dotted attribute chain ending in a Name (anything else contributes nothing)."""
    parts = []
    func = call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _dict_literal(node: ast.Dict, convert) -> dict:
    """A dict display whose keys and values are literals under `convert` (the compat or the strict rules)."""
    out = {}
    for k, v in zip(node.keys, node.values):
        if k is None:
            raise _Reject("unsupported_value", "dict unpacking (**) in an argument")
        key = convert(k)
        try:
            out[key] = convert(v)
        except TypeError:
            raise _Reject("unsupported_value", f"unhashable dict key {key!r}") from None
    return out


def _compat_value(node: ast.AST) -> Any:
    """BFCL `resolve_ast_by_type`, with `eval` replaced by the safe evaluator."""
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp):
        # BFCL: `-value.operand.value` whatever the operator, so only a constant operand decodes (+1 -> -1).
        if not isinstance(node.operand, ast.Constant):
            raise _Reject("unsupported_value", f"unary operator on {type(node.operand).__name__}")
        value = node.operand.value
        if not isinstance(value, _NUMBER):
            raise _Reject("unsupported_value", f"unary operator on {type(value).__name__}")
        return -value
    if isinstance(node, ast.List):
        return [_compat_value(v) for v in node.elts]
    if isinstance(node, ast.Dict):
        return _dict_literal(node, _compat_value)
    if isinstance(node, ast.BinOp):
        return _arith(node)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        if not node.keywords:
            return _unparse(node)
        name, args, _ = _compat_call(node)
        return {name: args}
    if isinstance(node, ast.Tuple):
        return tuple(_compat_value(v) for v in node.elts)
    if isinstance(node, ast.Subscript):
        # BFCL writes value + "[" + slice + "]" (its first attempt, `value.body[0]`, always raises): a tuple index
        # keeps its parentheses, `a[(1, 2)]`, where ast.unparse of the whole node writes `a[1, 2]`
        return _unparse(node.value) + "[" + _unparse(node.slice) + "]"
    if isinstance(node, ast.Lambda):
        raise _Reject("unsupported_value", "lambda arguments never decode in BFCL")
    raise _Reject("unsupported_value", f"unsupported argument expression {type(node).__name__}")


def _compat_call(call: ast.Call) -> tuple[str, dict, int]:
    args = {}
    for kw in call.keywords:
        # BFCL stores `**x` under the key None and writes "None=..."; keep that string so execution fails the same way.
        args["None" if kw.arg is None else kw.arg] = _compat_value(kw.value)
    return _call_name(call), args, len(call.args)


def _strict_value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        if node.value is Ellipsis:
            raise _Reject("unsupported_value", "Ellipsis is not a value")
        return node.value
    if isinstance(node, (ast.UnaryOp, ast.BinOp)):
        return _arith(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_strict_value(v) for v in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.Dict):
        return _dict_literal(node, _strict_value)
    raise _Reject("unsupported_value", f"argument is not a literal: {type(node).__name__}")


def _crashes_bfcl(value: Any) -> bool:
    """True where BFCL's `parse_nested_value` raises IndexError: an empty dict reached through dict nesting."""
    if not isinstance(value, dict):
        return False
    if not value:
        return True
    if all(isinstance(v, dict) for v in value.values()):  # written as a call: only the first entry's args are read
        return any(_crashes_bfcl(v) for v in next(iter(value.values())).values())
    return any(_crashes_bfcl(v) for v in value.values())


def _param_names(tools: list[dict] | None) -> dict[str, list[str]]:
    if not tools:
        return {}
    return {d["name"]: list((d.get("parameters") or {}).get("properties") or {}) for d in as_bfcl_docs(tools)}


def _strict_call(call: ast.Call, params: dict[str, list[str]] | None) -> ToolCall:
    name = _call_name(call)
    if not isinstance(call.func, ast.Name):
        raise _Reject("bad_call", f"call target must be a plain name, got {_unparse(call.func)!r}")
    if params is not None and name not in params:
        raise _Reject("unknown_function", f"{name!r} is not one of the available functions")
    kwargs = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise _Reject("bad_call", f"{name}: **kwargs are not allowed")
        kwargs[kw.arg] = _strict_value(kw.value)
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            raise _Reject("bad_call", f"{name}: *args are not allowed")
    positional = tuple(_strict_value(a) for a in call.args)
    if positional and params is not None:
        names = params[name]
        if len(positional) > len(names):
            raise _Reject(
                "bad_call", f"{name} takes at most {len(names)} argument(s), got {len(positional)} positional"
            )
        for pname, value in zip(names, positional):
            if pname in kwargs:
                raise _Reject("bad_call", f"{name}: argument {pname!r} given positionally and by keyword")
            kwargs[pname] = value
        # keep the schema's order: positional first, as written
        kwargs = {**{n: kwargs[n] for n in names[: len(positional)]}, **kwargs}
        positional = ()
    return ToolCall(name=name, arguments=kwargs, positional=positional)


def wrap(text: str) -> str:
    """BFCL's first decoding step (`default_decode_ast_prompting` / `_execute_prompting`): strip backticks, newlines
    and spaces from both ends, then add the `[` and `]` that are missing."""
    stripped = text.strip("`\n ")
    if not stripped.startswith("["):
        stripped = "[" + stripped
    if not stripped.endswith("]"):
        stripped = stripped + "]"
    return stripped


def _decode(text: str, mode: str, tools: list[dict] | None, execute: bool = True, wrapped: bool = True) -> ParseResult:
    # BFCL default_decode_execute_prompting + ast_parse, step by step.
    cleaned = (wrap(text) if wrapped else text).strip().strip("'")
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" and friends: model text, not our code
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(cleaned, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        return ParseResult.failure("syntax", f"not a Python call list: {type(exc).__name__}: {exc}", text)
    body = tree.body
    if isinstance(body, ast.Call):
        elements = [body]
    elif isinstance(body, (ast.List, ast.Tuple, ast.Set)):
        elements = body.elts
    else:
        return ParseResult.failure("not_a_call_list", f"expected a list of calls, got {type(body).__name__}", text)
    params = _param_names(tools) if (mode == "strict" and tools is not None) else None
    calls, notes = [], []
    for i, elem in enumerate(elements):
        if not isinstance(elem, ast.Call):
            return ParseResult.failure("not_a_call", f"element {i} is a {type(elem).__name__}, not a call", text)
        if mode == "strict":
            calls.append(_strict_call(elem, params))
            continue
        name, args, n_positional = _compat_call(elem)
        if n_positional:
            notes.append(f"{name or '<call>'}: {n_positional} positional argument(s) dropped (BFCL keeps keywords)")
        if execute and any(_crashes_bfcl(v) for v in args.values()):
            return ParseResult.failure(
                "unsupported_value", f"{name}: an empty dict inside dict arguments (BFCL's decoder fails on it)", text
            )
        calls.append(ToolCall(name=name, arguments=args))
    return ParseResult(calls=calls, content=text, warnings=notes)


def parse(
    text: str,
    mode: Literal["compat", "strict"] = "compat",
    tools: list[dict] | None = None,
    *,
    execute: bool = True,
    wrapped: bool = True,
) -> ParseResult:
    """Decode a pythonic call list. Total: any string gives calls or a typed error; nothing is evaluated.

    An output that is only whitespace/backticks decodes to no calls (BFCL: empty decode, the turn ends).
    `execute=False` decodes as BFCL's single-turn `default_decode_ast_prompting` does: the same parse, without
    the failure that only BFCL's execution decoder has (an empty dict nested in dict arguments). `wrapped=False`
    parses the text as it is, without `wrap`: BFCL's `ast_parse` on what a <TOOLCALL> tag held.
    """
    if not isinstance(text, str):
        return ParseResult.failure("not_text", f"expected a string, got {type(text).__name__}")
    if mode not in ("compat", "strict"):
        return ParseResult.failure("bad_mode", f"unknown pythonic mode {mode!r}; use 'compat' or 'strict'", text)
    try:
        return _decode(text, mode, tools, execute, wrapped)
    except _Reject as exc:
        return ParseResult.failure(exc.error_type, str(exc), text)
    except (RecursionError, MemoryError) as exc:  # absurdly deep nesting in model text
        return ParseResult.failure("too_complex", f"expression too deeply nested: {type(exc).__name__}", text)
