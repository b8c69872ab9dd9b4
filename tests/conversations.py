"""Conversations the tests build: a long `ls` dialogue for scaling checks."""

from __future__ import annotations

LS_DOC = [
    {
        "name": "ls",
        "description": "List files.",
        "parameters": {"type": "dict", "properties": {"a": {"type": "boolean", "description": "all"}}, "required": []},
    }
]


def long_conversation(turns: int) -> list[dict]:
    messages = [{"role": "user", "content": "list the files"}]
    call = {"type": "function", "function": {"name": "ls", "arguments": {"a": True}}}
    for _ in range(turns):
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        messages.append({"role": "tool", "name": "ls(a=True)", "content": '{"current_directory_content": ["a"]}'})
    messages.append({"role": "assistant", "content": "done"})
    return messages
