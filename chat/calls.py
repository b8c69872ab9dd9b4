"""The one tool-call type used everywhere, and the result every parser returns.

    from funreason.chat.calls import ToolCall
    call = ToolCall("cd", {"folder": "docs"})
    call.to_python()              # "cd(folder='docs')"      BFCL prompting decode form (what eval executes/logs)
    call.to_python(style="fc")    # "cd(folder='docs')"      BFCL FC form (`convert_to_function_call`: ',' no space)
    call.to_python(style="literal")  # a plain Python literal call, what the pythonic format renders for training

Call-string forms (checked against bfcl_eval 2026.3.23, `model_handler/utils.py`):

- ``"bfcl"`` (default) is `decoded_output_to_execution_list`, the string BFCL's prompting decoder hands to
  execution: ``name(k=v, k2=v2)`` joined by ``", "`` with values through `parse_nested_value`. That function has
  quirks we reproduce on purpose, because the string is what gets executed and its result is compared: a dict whose
  values are all dicts is written as a nested call (``{"g": {"y": 1}}`` -> ``g(y=1)``), and dict keys are always
  single-quoted via ``f"'{k}'"`` (``{1: 2}`` -> ``{'1': 2}``). BFCL *crashes* on an empty dict reached that way;
  we write ``{}`` (the pythonic compat parser reports those inputs as decode errors, as BFCL would).
- ``"fc"`` is `convert_to_function_call` (BFCL's FC handlers, e.g. QwenFC): ``name(k=repr(v),...)`` joined by ``","``.
- ``"literal"`` is ``", "``-joined `repr` values: valid Python that `ast` parses back to the same values.

Positional arguments (``ToolCall.positional``, e.g. BFCL ground truth ``sort('final_report.pdf')``) come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


def _bfcl_nested_value(value: Any) -> str:
    """BFCL's `parse_nested_value`, except that an empty dict renders as '{}' instead of raising IndexError."""
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()):
            func_name = next(iter(value))
            args = value[func_name]
            return f"{func_name}({', '.join(f'{k}={_bfcl_nested_value(v)}' for k, v in args.items())})"
        if value:
            return "{" + ", ".join(f"'{k}': {_bfcl_nested_value(v)}" for k, v in value.items()) + "}"
        return "{}"
    return repr(value)


@dataclass(frozen=True)
class ToolCall:
    """One function call: a name, keyword arguments, and (rarely) positional arguments not mapped to names."""

    name: str
    arguments: dict = field(default_factory=dict)
    positional: tuple = ()

    def to_python(self, style: Literal["bfcl", "fc", "literal"] = "bfcl") -> str:
        if style == "bfcl":
            parts = [_bfcl_nested_value(v) for v in self.positional]
            parts += [f"{k}={_bfcl_nested_value(v)}" for k, v in self.arguments.items()]
            return f"{self.name}({', '.join(parts)})"
        if style == "fc":
            parts = [repr(v) for v in self.positional] + [f"{k}={v!r}" for k, v in self.arguments.items()]
            return f"{self.name}({','.join(parts)})"
        if style == "literal":
            parts = [repr(v) for v in self.positional] + [f"{k}={v!r}" for k, v in self.arguments.items()]
            return f"{self.name}({', '.join(parts)})"
        raise ValueError(f"unknown call-string style {style!r}; use 'bfcl', 'fc' or 'literal'")

    def to_message(self) -> dict:
        """The OpenAI-style assistant `tool_calls` entry (arguments stay a dict)."""
        if self.positional:
            raise ValueError(
                f"{self.name}: {len(self.positional)} positional argument(s) have no parameter names; "
                "map them through the tool schema first (chat.pythonic.parse(..., mode='strict', tools=...))"
            )
        return {"type": "function", "function": {"name": self.name, "arguments": dict(self.arguments)}}

    @classmethod
    def from_message(cls, tool_call: dict) -> ToolCall:
        """Inverse of `to_message`; accepts the OpenAI wrapper or a bare {"name", "arguments"} dict."""
        fn = tool_call.get("function", tool_call)
        return cls(name=fn["name"], arguments=dict(fn.get("arguments") or {}))


@dataclass
class ParseResult:
    """What a parser makes of one model output. Parsers never raise and never evaluate model text.

    `error` set means the output did not decode (BFCL: "Error decoding", the turn ends). `calls == []` with no error
    means the output holds no call (BFCL: an empty decode, the turn ends normally). `warnings` lists things BFCL does
    silently that a caller may want to count (a malformed <tool_call> block skipped, positional arguments dropped).
    """

    calls: list[ToolCall] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    content: str = ""
    reasoning: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failure(cls, error_type: str, error: str, content: str = "") -> ParseResult:
        return cls(calls=[], error=error, error_type=error_type, content=content)
