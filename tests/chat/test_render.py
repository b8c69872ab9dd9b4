"""The renderer's documented decisions: system prompts, tools, tool results, history messages, reasoning parsing.
Prompt rendering is checked on the tiny tokenizer and on Qwen3's real one (conftest `tokenizer`).

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_render.py
"""

from __future__ import annotations

import json

import pytest
from funreason.chat import pythonic
from funreason.chat.calls import ToolCall
from funreason.chat.messages import MessageError
from funreason.chat.render import assistant_message, parse_assistant, render_example, render_prompt, tool_messages
from funreason.chat.schemas import bfcl_to_json_schema
from funreason.core.sections.chat import ChatOptions

DOCS = [
    {
        "name": "cd",
        "description": "Change directory.",
        "parameters": {"type": "dict", "properties": {"folder": {"type": "string"}}, "required": ["folder"]},
        "response": {"type": "dict", "properties": {"cwd": {"type": "string"}}},
    },
    {"name": "sort", "description": "Sort.", "parameters": {"type": "dict", "properties": {"file_name": {}}}},
]
USER = [{"role": "user", "content": "go to docs"}]


def test_pythonic_system_prompt_is_bfcl_then_extra_text_and_no_template_tools(tokenizer):
    options = ChatOptions(tool_format="pythonic", system_prompt="Extra rules.")
    messages = [{"role": "system", "content": "From the data."}, *USER]
    text = render_prompt(tokenizer, messages, DOCS, options).text
    system = pythonic.system_prompt(DOCS) + "\n\nExtra rules.\n\nFrom the data."
    assert (
        text
        == f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\ngo to docs<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "<tools>" not in text
    # OpenAI-style tools give the same prompt
    assert render_prompt(tokenizer, USER, [bfcl_to_json_schema(d) for d in DOCS], ChatOptions()).text == (
        render_prompt(tokenizer, USER, DOCS, ChatOptions()).text
    )


def test_hermes_sends_raw_bfcl_docs_to_the_template(tokenizer):
    options = ChatOptions(tool_format="hermes", system_prompt="Extra rules.")
    text = render_prompt(tokenizer, USER, DOCS, options).text
    assert text.startswith("<|im_start|>system\nExtra rules.\n\n# Tools\n")
    for doc in DOCS:
        assert "\n" + json.dumps(doc, ensure_ascii=False) + "\n" in text  # "type": "dict", "response" kept
    assert "You are an expert in composing functions" not in text


def test_tool_results_are_one_tool_message_each_and_merge_in_the_template(tokenizer):
    calls = [ToolCall("cd", {"folder": "docs"}), ToolCall("sort", {"file_name": "a"})]
    pm = tool_messages(calls, ["r1", "r2"], ChatOptions(tool_format="pythonic"))
    assert pm == [
        {"role": "tool", "name": "cd(folder='docs')", "content": "r1"},
        {"role": "tool", "name": "sort(file_name='a')", "content": "r2"},
    ]
    hm = tool_messages(calls, ["r1", "r2"], ChatOptions(tool_format="hermes"))
    assert [m["name"] for m in hm] == ["cd", "sort"]
    with pytest.raises(ValueError, match="2 calls but 1 results"):
        tool_messages(calls, ["r1"])
    messages = [*USER, {"role": "assistant", "content": "", "tool_calls": [c.to_message() for c in calls]}, *pm]
    text = render_prompt(tokenizer, messages, DOCS, ChatOptions()).text
    assert text.endswith(
        "<|im_start|>assistant\n[cd(folder='docs'), sort(file_name='a')]<|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_parse_assistant_splits_reasoning_and_requires_think_end_under_prefill():
    text = "<think>\nplan\n</think>\n\n[cd(folder='docs')]"
    result = parse_assistant(text, ChatOptions())
    assert result.ok and result.reasoning == "plan" and result.calls == [ToolCall("cd", {"folder": "docs"})]
    prefilled = parse_assistant("\nplan\n</think>\n\n[cd(folder='docs')]", ChatOptions(think_prefill=True))
    assert prefilled.calls == result.calls and prefilled.reasoning == "plan"
    unclosed = parse_assistant("plan forever [cd(folder='docs')]", ChatOptions(think_prefill=True))
    assert unclosed.error_type == "no_think_end" and unclosed.calls == []
    # strict mode maps positional arguments through the schema; compat drops them as BFCL does
    assert parse_assistant("[sort('a.txt')]", ChatOptions(pythonic_mode="strict"), DOCS).calls == [
        ToolCall("sort", {"file_name": "a.txt"})
    ]
    compat = parse_assistant("[sort('a.txt')]", ChatOptions(), DOCS)
    assert compat.calls == [ToolCall("sort", {})] and compat.warnings
    hermes_reply = parse_assistant(
        'Moving.\n<tool_call>\n{"name": "cd", "arguments": {"folder": "d"}}\n</tool_call>',
        ChatOptions(tool_format="hermes"),
    )
    assert hermes_reply.content == "Moving." and hermes_reply.calls == [ToolCall("cd", {"folder": "d"})]


def test_assistant_message_keeps_what_the_next_prompt_needs():
    pythonic_msg = assistant_message('<think>\nhm\n</think>\n\n[cd(folder="a")]', ChatOptions())
    assert pythonic_msg == {"role": "assistant", "content": '[cd(folder="a")]', "reasoning_content": "hm"}
    hermes_msg = assistant_message(
        'ok\n<tool_call>\n{"name": "cd", "arguments": {"folder": "a"}}\n</tool_call>', ChatOptions(tool_format="hermes")
    )
    assert hermes_msg == {
        "role": "assistant",
        "content": "ok",
        "tool_calls": [ToolCall("cd", {"folder": "a"}).to_message()],
    }
    broken = assistant_message("<tool_call>\n[1]\n</tool_call>", ChatOptions(tool_format="hermes"))
    assert "tool_calls" not in broken and broken["content"] == "<tool_call>\n[1]\n</tool_call>"


def test_history_reasoning_keep_or_drop(tokenizer):
    messages = [
        *USER,
        {"role": "assistant", "content": "", "reasoning_content": "secret plan", "tool_calls": [
            ToolCall("cd", {"folder": "docs"}).to_message()]},
        {"role": "tool", "content": "ok"},
    ]  # fmt: skip
    dropped = render_prompt(tokenizer, messages, DOCS, ChatOptions(history_reasoning="drop")).text
    kept = render_prompt(tokenizer, messages, DOCS, ChatOptions(history_reasoning="keep")).text
    assert "secret plan" not in dropped
    assert "<|im_start|>assistant\n<think>\nsecret plan\n</think>\n\n[cd(folder='docs')]<|im_end|>" in kept
    # a trained turn always shows its reasoning, whatever the history setting
    example = render_example(tokenizer, messages[:2], DOCS, ChatOptions(history_reasoning="drop"))
    assert "<think>\nsecret plan\n</think>" in example.text


def test_renderer_rejects_what_it_cannot_render_faithfully(tokenizer):
    both = [
        *USER,
        {"role": "assistant", "content": "Sure!", "tool_calls": [ToolCall("cd", {"folder": "a"}).to_message()]},
    ]
    with pytest.raises(MessageError, match="message 1 .*pythonic format cannot carry both"):
        render_example(tokenizer, both, DOCS, ChatOptions())
    render_example(tokenizer, both, DOCS, ChatOptions(tool_format="hermes"))  # fine natively
    with pytest.raises(MessageError, match="ends with a user message"):
        render_example(tokenizer, USER, DOCS, ChatOptions())
    unknown = [*USER, {"role": "assistant", "tool_calls": [ToolCall("rm", {}).to_message()]}]
    with pytest.raises(MessageError, match="not among the declared tools"):
        render_example(tokenizer, unknown, DOCS, ChatOptions(tool_format="hermes"))  # training data: a bug


def test_a_models_call_to_an_unknown_tool_is_fed_back_as_bfcl_does(tokenizer):
    """In eval and RL the model's own call to a tool that does not exist renders (BFCL executes it as an error and
    goes on); refusing the prompt would turn the whole entry into an inference error."""
    for fmt in ("hermes", "pythonic"):
        opts = ChatOptions(tool_format=fmt)
        text = '<tool_call>\n{"name": "rm", "arguments": {}}\n</tool_call>' if fmt == "hermes" else "[rm()]"
        reply = assistant_message(text, opts, DOCS)
        history = [*USER, reply, *tool_messages([ToolCall("rm", {})], ["Error during execution: no tool rm"], opts)]
        prompt = render_prompt(tokenizer, history, DOCS, opts)
        assert "Error during execution: no tool rm" in prompt.text
