"""Conversations to text and back: tool-call formats, their parsers, tool schemas, and the one renderer.

    from core.sections.chat import ChatOptions
    from chat.render import render_prompt, render_example, parse_assistant, assistant_message, tool_messages
    from chat.calls import ToolCall, ParseResult
    from chat import hermes, pythonic, schemas, messages

Nothing in this package executes model text (DESIGN invariant 2); see docs/architecture.md §chat for the contract.
"""
