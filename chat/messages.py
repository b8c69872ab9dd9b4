"""Conversations as OpenAI-style message lists, and their validation.

    from funreason.chat.messages import validate_messages, MessageError
    validate_messages(messages, tools=docs, require_target=True)   # raises MessageError("message 3: ...")

A conversation is a list of dicts with ``role`` in system/user/assistant/tool and string ``content``:

- assistant messages may carry ``tool_calls`` = ``[{"type": "function", "function": {"name": str, "arguments":
  dict}}]`` (``content`` may then be empty or None) and an optional ``reasoning_content`` string;
- tool messages carry one tool result in ``content`` (other keys such as ``name`` or ``tool_call_id`` are kept
  but never rendered by the Qwen template) and must follow an assistant or tool message;
- no content may contain the chat-format control tokens ``<|im_start|>`` / ``<|im_end|>`` / ``<|endoftext|>``:
  they would forge turn boundaries and break loss masks.

`split_think` is the one place that splits ``<think>...</think>`` off assistant text, exactly as BFCL's Qwen
handlers do (text before the last ``</think>`` is reasoning, the rest with leading newlines removed is content).
"""

from __future__ import annotations

from typing import Any

from funreason.chat.schemas import tool_names
from funreason.core.errors import UserError

ROLES = ("system", "user", "assistant", "tool")
CONTROL_TOKENS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")


class MessageError(UserError):
    """A conversation is malformed; the message names the message index and the problem."""


def split_think(text: str) -> tuple[str | None, str]:
    """(reasoning, rest) of an assistant text; reasoning is None when there is no ``</think>``."""
    if "</think>" not in text:
        return None, text
    parts = text.split("</think>")
    return parts[0].rstrip("\n").split("<think>")[-1].lstrip("\n"), parts[-1].lstrip("\n")


def reasoning_of(message: dict) -> tuple[str | None, str]:
    """(reasoning, visible content) of an assistant message: ``reasoning_content`` wins over an inline think block."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content")
    inline, rest = split_think(content)
    if reasoning:
        return reasoning, rest if inline is not None else content
    return inline, rest


def _check_tool_calls(i: int, tool_calls: Any, names: set[str] | None) -> None:
    if not isinstance(tool_calls, list):
        raise MessageError(f"message {i}: tool_calls must be a list, got {type(tool_calls).__name__}")
    for j, tc in enumerate(tool_calls):
        where = f"message {i}: tool_calls[{j}]"
        if not isinstance(tc, dict) or not isinstance(tc.get("function"), dict):
            raise MessageError(f'{where} must be {{"type": "function", "function": {{"name": ..., "arguments": ...}}}}')
        if tc.get("type", "function") != "function":
            raise MessageError(f"{where}: type must be 'function', got {tc.get('type')!r}")
        fn = tc["function"]
        name, arguments = fn.get("name"), fn.get("arguments")
        if not isinstance(name, str) or not name:
            raise MessageError(f"{where}: function.name must be a non-empty string, got {name!r}")
        if not isinstance(arguments, dict):
            hint = " (a JSON string? decode it to a dict first)" if isinstance(arguments, str) else ""
            raise MessageError(
                f"{where} ({name}): function.arguments must be a dict, got {type(arguments).__name__}{hint}"
            )
        if names is not None and name not in names:
            raise MessageError(f"{where}: calls {name!r}, which is not among the declared tools")


def validate_messages(messages: Any, tools: list[dict] | None = None, require_target: bool = False) -> None:
    """Raise MessageError on the first problem. `require_target`: the last message must be an assistant message
    (an SFT example needs a target; a conversation ending with a user or tool turn has none)."""
    if not isinstance(messages, list) or not messages:
        raise MessageError(f"messages must be a non-empty list, got {type(messages).__name__}")
    names = set(tool_names(tools)) if tools is not None else None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise MessageError(f"message {i}: must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise MessageError(f"message {i}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        content = message.get("content")
        if role == "assistant":
            if content is not None and not isinstance(content, str):
                raise MessageError(f"message {i} (assistant): content must be a string or None")
            if message.get("tool_calls") is not None:
                _check_tool_calls(i, message["tool_calls"], names)
            reasoning = message.get("reasoning_content")
            if reasoning is not None and not isinstance(reasoning, str):
                raise MessageError(f"message {i} (assistant): reasoning_content must be a string or None")
        elif not isinstance(content, str):
            raise MessageError(f"message {i} ({role}): content must be a string, got {type(content).__name__}")
        if role == "tool" and (i == 0 or messages[i - 1].get("role") not in ("assistant", "tool")):
            raise MessageError(f"message {i} (tool): a tool result must follow an assistant or tool message")
        for text in (content, message.get("reasoning_content")):
            if isinstance(text, str):
                for token in CONTROL_TOKENS:
                    if token in text:
                        raise MessageError(f"message {i} ({role}): contains the control token {token}")
    if require_target and messages[-1]["role"] != "assistant":
        raise MessageError(
            f"message {len(messages) - 1}: the conversation ends with a {messages[-1]['role']} message, "
            "so there is no assistant turn to train on"
        )


def merged_tool_message(results: list[str]) -> dict:
    """All results of one step as one tool message, FunReason-MT's form: content is ``str(list_of_results)``."""
    return {"role": "tool", "content": str([str(r) for r in results])}


def merge_tool_results(messages: list[dict], tool_results: str) -> list[dict]:
    """Stored conversations keep one tool message per result; with ``tool_results: merged`` every run of consecutive
    tool messages becomes one `merged_tool_message` (so SFT rows render as eval and RL feed results back). Apply
    once, to conversations with one message per result; ``separate`` returns `messages` unchanged."""
    if tool_results != "merged":
        return messages
    out: list[dict] = []
    run: list[str] = []
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "tool":
            run.append(message.get("content"))
            continue
        if run:
            out.append(merged_tool_message(run))
            run = []
        out.append(message)
    if run:
        out.append(merged_tool_message(run))
    return out
