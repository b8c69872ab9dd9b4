"""Conversations to text and back: tool-call formats, their parsers, tool schemas, and the one renderer.

    from funreason.core.sections.chat import ChatOptions
    from funreason.chat.render import render_prompt, render_example, parse_assistant, assistant_message, tool_messages
    from funreason.chat.calls import ToolCall, ParseResult
    from funreason.chat import hermes, pythonic, schemas, messages
    from funreason.chat.formats import tool_format            # the one switch on the recipe's tool-call format
    from funreason.chat.step import take_step, StepOutcome    # the multi-turn step eval, RL and synthesis share

Nothing in this package executes model text (invariant 2 of docs/design.md; a step runs calls through the executor it is
given); see docs/architecture.md §chat for the contract.
"""
