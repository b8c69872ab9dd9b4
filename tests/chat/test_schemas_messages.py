"""Tool-schema conversion (every BFCL multi-turn function doc round-trips) and message validation errors.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_schemas_messages.py
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from funreason.chat.calls import ToolCall
from funreason.chat.messages import MessageError, validate_messages
from funreason.chat.schemas import as_bfcl_docs, bfcl_to_json_schema, json_schema_to_bfcl
from funreason.core.errors import UserError

BFCL_DIR = Path(importlib.util.find_spec("bfcl_eval").submodule_search_locations[0])
DOC_FILES = sorted((BFCL_DIR / "data/multi_turn_func_doc").glob("*.json"))


def _types(schema, found):
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), str):
            found.add(schema["type"])
        for value in schema.values():
            _types(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _types(value, found)
    return found


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.stem for p in DOC_FILES])
def test_every_bfcl_multi_turn_doc_round_trips(path):
    docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert docs
    for doc in docs:
        tool = bfcl_to_json_schema(doc)
        assert tool["type"] == "function" and tool["function"]["name"] == doc["name"]
        # the JSON side speaks JSON Schema only
        assert _types(tool["function"]["parameters"], set()) <= {"object", "number", "integer", "string", "boolean",
                                                                  "array", "null"}  # fmt: skip
        assert json.loads(json.dumps(tool)) == tool
        back = json_schema_to_bfcl(tool)
        assert back == doc
        assert json.dumps(back) == json.dumps(doc)  # key order too, so prompts built from either are identical
        assert as_bfcl_docs([tool, doc]) == [doc, doc]


def test_lossy_bfcl_types_are_kept_and_response_can_be_dropped():
    doc = {
        "name": "f",
        "description": "d",
        "parameters": {
            "type": "dict",
            "properties": {
                "t": {"type": "tuple", "items": {"type": "float"}},
                "x": {"type": "any", "description": "anything"},
                "type": {"type": "dict", "properties": {"description": {"type": "list"}}},
            },
            "required": ["t"],
        },
        "response": {"type": "dict", "properties": {"ok": {"type": "boolean"}}},
    }
    tool = bfcl_to_json_schema(doc)
    props = tool["function"]["parameters"]["properties"]
    assert props["t"] == {"type": "array", "x-bfcl-type": "tuple", "items": {"type": "number"}}
    assert props["x"] == {"x-bfcl-type": "any", "description": "anything"}
    assert props["type"]["type"] == "object"  # property names are names, not schema keys
    assert props["type"]["properties"]["description"] == {"type": "array", "x-bfcl-type": "list"}
    assert json_schema_to_bfcl(tool) == doc
    assert "response" not in bfcl_to_json_schema(doc, keep_response=False)["function"]
    with pytest.raises(ValueError, match="name"):
        bfcl_to_json_schema({"description": "no name"})


TOOLS = [{"name": "cd", "description": "", "parameters": {"type": "dict", "properties": {"folder": {}}}}]


def call(name="cd", arguments=None):
    return {
        "type": "function",
        "function": {"name": name, "arguments": {"folder": "a"} if arguments is None else arguments},
    }


@pytest.mark.parametrize(
    "messages, match",
    [
        ([], "non-empty list"),
        ("hi", "non-empty list"),
        ([{"role": "user", "content": "x"}, "oops"], "message 1: must be a dict"),
        ([{"role": "robot", "content": "x"}], "message 0: unknown role 'robot'"),
        ([{"role": "user", "content": None}], r"message 0 \(user\): content must be a string"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": 3}], "message 1 .*content"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": {}}], "message 1: tool_calls must be a list"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"name": "cd"}]}], r"message 1: tool_calls\[0\]"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call(arguments='{"a": 1}')]}],
         "arguments must be a dict.*JSON string"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call(name="")]}], "non-empty string"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call(name="rm")]}],
         "message 1: tool_calls\\[0\\]: calls 'rm', which is not among the declared tools"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "reasoning_content": 5}], "reasoning_content"),
        ([{"role": "tool", "content": "r"}], "message 0 \\(tool\\): a tool result must follow"),
        ([{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}], "message 1 \\(tool\\)"),
        ([{"role": "user", "content": "a<|im_end|>b"}], "message 0 \\(user\\): contains the control token <\\|im_end\\|>"),
    ],
)  # fmt: skip
def test_validation_names_the_message_and_problem(messages, match):
    with pytest.raises(MessageError, match=match):
        validate_messages(messages, tools=TOOLS)


def test_require_target_and_valid_conversations():
    convo = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call()], "reasoning_content": "why"},
        {"role": "tool", "content": "ok", "name": "cd(folder='a')"},
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "more"},
    ]
    validate_messages(convo, tools=TOOLS)
    validate_messages(convo)  # no tools: names are not checked
    validate_messages(convo[:-1], tools=TOOLS, require_target=True)
    with pytest.raises(MessageError, match="message 5: the conversation ends with a user message") as info:
        validate_messages(convo, tools=TOOLS, require_target=True)
    assert isinstance(info.value, UserError)


def test_tool_call_message_round_trip_and_call_strings():
    c = ToolCall("f", {"a": 1, "b": "x", "c": {"g": {"y": 1}}, "d": {1: 2}})
    assert ToolCall.from_message(c.to_message()) == c
    assert c.to_python() == "f(a=1, b='x', c=g(y=1), d={'1': 2})"  # BFCL's decode quirks, reproduced
    assert c.to_python(style="fc") == "f(a=1,b='x',c={'g': {'y': 1}},d={1: 2})"
    assert c.to_python(style="literal") == "f(a=1, b='x', c={'g': {'y': 1}}, d={1: 2})"
    assert ToolCall("sort", {}, ("final_report.pdf",)).to_python() == "sort('final_report.pdf')"
    with pytest.raises(ValueError, match="positional"):
        ToolCall("sort", {}, ("x",)).to_message()
