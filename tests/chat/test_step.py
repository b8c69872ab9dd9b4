"""chat.formats (the one tool_format switch) and chat.step (the multi-turn step shared by eval, RL and synthesis).

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_step.py
"""

from __future__ import annotations

import pytest
from funreason.chat.calls import ToolCall
from funreason.chat.formats import FORMATS, tool_format
from funreason.chat.step import DECODE_ERROR, EXECUTED, NO_CALLS, take_step
from funreason.core.errors import UserError
from funreason.core.sections.chat import ChatOptions

DOCS = [
    {"name": "cd", "description": "Change directory.", "parameters": {"type": "dict", "properties": {"folder": {}}}},
    {"name": "ls", "description": "List.", "parameters": {"type": "dict", "properties": {}}},
]
CALLS = [ToolCall("cd", {"folder": "docs"}), ToolCall("ls", {})]


class Recorder:
    """An executor that records what it was asked to run and answers one string per call."""

    def __init__(self):
        self.seen: list[list[ToolCall]] = []

    def __call__(self, calls):
        self.seen.append(list(calls))
        return [f"ran {c.name}" for c in calls]


def test_tool_format_switch():
    assert list(FORMATS) == ["pythonic", "hermes"]
    assert tool_format(None) is tool_format(ChatOptions()) is FORMATS["pythonic"]
    assert tool_format(ChatOptions(tool_format="hermes")) is tool_format("hermes")
    with pytest.raises(UserError, match="unknown tool-call format 'json'"):
        tool_format("json")
    hermes, pythonic = FORMATS["hermes"], FORMATS["pythonic"]
    assert hermes.native_tools and not pythonic.native_tools
    assert (hermes.bfcl_call_style, pythonic.bfcl_call_style) == ("fc", "bfcl")
    assert pythonic.render_calls(CALLS) == "[cd(folder='docs'), ls()]"
    assert hermes.parse(hermes.render_calls(CALLS)).calls == CALLS == pythonic.parse("[cd(folder='docs'), ls()]").calls
    assert hermes.looks_like_calls("x <tool_call>") and not hermes.looks_like_calls("[cd()]")
    assert pythonic.looks_like_calls("```\n[cd(") and not pythonic.looks_like_calls("Done.")
    assert (hermes.tool_message_name(CALLS[0]), pythonic.tool_message_name(CALLS[0])) == ("cd", "cd(folder='docs')")


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_step_executes_calls_in_order_and_feeds_results_back(fmt):
    options = ChatOptions(tool_format=fmt)
    run = Recorder()
    text = "<think>\nGo there, then look.\n</think>\n\n" + tool_format(fmt).render_calls(CALLS)
    step = take_step(text, options, DOCS, run)
    assert step.verdict == EXECUTED and not step.ends_turn and step.well_formed
    assert run.seen == [CALLS] and step.calls == CALLS and step.results == ["ran cd", "ran ls"]
    assert step.decoded == ["cd(folder='docs')", "ls()"]
    assert step.reasoning == "Go there, then look." and step.response == tool_format(fmt).render_calls(CALLS)
    assert [m["content"] for m in step.tool_messages] == step.results
    assert step.assistant_message["reasoning_content"] == "Go there, then look."
    assert ("tool_calls" in step.assistant_message) == (fmt == "hermes")


@pytest.mark.parametrize(
    ("fmt", "text", "verdict", "well_formed"),
    [
        ("pythonic", "[cd(folder='docs'", DECODE_ERROR, False),  # tried the call syntax and failed
        ("pythonic", "All done.", DECODE_ERROR, True),  # BFCL: plain text does not decode; a final answer for RL
        ("pythonic", "[]", NO_CALLS, False),
        ("hermes", "All done.", NO_CALLS, True),
        ("hermes", "<tool_call>\n[1]\n</tool_call>", DECODE_ERROR, False),
        ("hermes", "<tool_call>\n{oops}\n</tool_call>", NO_CALLS, False),  # skipped block: BFCL's empty decode
    ],
)
def test_step_that_ends_the_turn_executes_nothing(fmt, text, verdict, well_formed):
    run = Recorder()
    step = take_step(text, ChatOptions(tool_format=fmt), DOCS, run)
    assert (step.verdict, step.well_formed, step.ends_turn) == (verdict, well_formed, True)
    assert run.seen == [] and step.results == [] and step.tool_messages == [] and step.calls == []
    assert step.response == text and step.reasoning == ""


def test_prefill_without_think_end_is_a_decode_error():
    run = Recorder()
    step = take_step("[cd(folder='docs')]", ChatOptions(think_prefill=True), DOCS, run)
    assert step.verdict == DECODE_ERROR and step.parsed.error_type == "no_think_end" and not step.well_formed
    assert run.seen == []
    ok = take_step("\nfine\n</think>\n\n[cd(folder='docs')]", ChatOptions(think_prefill=True), DOCS, run)
    assert ok.verdict == EXECUTED and ok.reasoning == "fine" and ok.well_formed
