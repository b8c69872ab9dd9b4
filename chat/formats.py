"""The two tool-call formats, and the one place that reads the recipe's ``tool_format`` switch.

    from funreason.chat.formats import tool_format
    fmt = tool_format(options)                 # a ChatOptions, or the name: tool_format("hermes")
    fmt.parse(text, mode="compat", tools=None) # ParseResult; never raises, never evaluates
    fmt.render_calls(calls)                    # the calls as the model writes them
    fmt.looks_like_calls(text)                 # a reply with no decoded call that still tried the call syntax
    fmt.tool_message_name(call)                # the `name` of the tool message carrying this call's result
    fmt.native_tools                           # True: tools and calls go through the chat template (BFCL FC mode)
    fmt.bfcl_call_style                        # the ToolCall.to_python style BFCL's handler executes

- ``hermes`` (Qwen3 native; BFCL's FC mode, the QwenFC handler): tools are handed to the chat template, assistant
  calls are ``tool_calls`` that the template writes as ``<tool_call>{json}</tool_call>`` blocks, a held-out
  function joins the tool list, and BFCL's ``decode_execute`` writes calls in the ``fc`` style.
- ``pythonic`` (BFCL prompting mode, what FunReason-MT's handler used): tool docs sit in BFCL's system prompt,
  calls are text (``[f(a=1)]``) in the assistant content, a held-out function is announced in a user message, and
  BFCL's prompting decoder writes calls in the ``bfcl`` style.

Everything else that differs between the formats (`chat.render`, `chat.step`, eval's runner and scorer, the GRPO
rollout) asks this module instead of comparing ``tool_format`` strings itself.
"""

from __future__ import annotations

from typing import Literal

from funreason.chat import hermes, pythonic
from funreason.chat.calls import ParseResult, ToolCall
from funreason.core.errors import UserError
from funreason.core.sections.chat import ChatOptions


class ToolFormat:
    """What one tool-call format means for parsing, rendering and BFCL's handler."""

    name: str
    native_tools: bool
    bfcl_call_style: Literal["bfcl", "fc"]

    def parse(self, text: str, mode: str = "compat", tools: list[dict] | None = None) -> ParseResult:
        raise NotImplementedError

    def render_calls(self, calls: list[ToolCall]) -> str:
        raise NotImplementedError

    def looks_like_calls(self, text: str) -> bool:
        raise NotImplementedError

    def tool_message_name(self, call: ToolCall) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"ToolFormat({self.name!r})"


class HermesFormat(ToolFormat):
    name = "hermes"
    native_tools = True
    bfcl_call_style = "fc"

    def parse(self, text: str, mode: str = "compat", tools: list[dict] | None = None) -> ParseResult:
        return hermes.parse(text)  # mode and tools matter only to the pythonic decoder

    def render_calls(self, calls: list[ToolCall]) -> str:
        return hermes.render_calls(calls)

    def looks_like_calls(self, text: str) -> bool:
        return "<tool_call>" in text

    def tool_message_name(self, call: ToolCall) -> str:
        return call.name


class PythonicFormat(ToolFormat):
    name = "pythonic"
    native_tools = False
    bfcl_call_style = "bfcl"

    def parse(self, text: str, mode: str = "compat", tools: list[dict] | None = None) -> ParseResult:
        return pythonic.parse(text, mode=mode, tools=tools)

    def render_calls(self, calls: list[ToolCall]) -> str:
        return pythonic.render_calls(calls)

    def looks_like_calls(self, text: str) -> bool:
        return text.strip("`\n ").startswith("[")

    def tool_message_name(self, call: ToolCall) -> str:
        return call.to_python()  # BFCL's `_add_execution_results_prompting` names a result by its call string


FORMATS: dict[str, ToolFormat] = {"pythonic": PythonicFormat(), "hermes": HermesFormat()}  # the default first


def tool_format(spec: str | ChatOptions | None) -> ToolFormat:
    """The format a recipe's chat options (or a format name) choose; None is the default options' format."""
    name = ChatOptions().tool_format if spec is None else getattr(spec, "tool_format", spec)
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise UserError(f"unknown tool-call format {name!r}; expected one of {list(FORMATS)}") from None
