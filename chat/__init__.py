"""Conversations to text and back: tool-call formats, their parsers, tool schemas, and the one renderer.

    from core.sections.chat import ChatOptions
    from chat.render import render_prompt, render_example, parse_assistant, assistant_message, tool_messages
    from chat.calls import ToolCall, ParseResult
    from chat import hermes, pythonic, schemas, messages
    from chat.formats import tool_format            # the one switch on the recipe's tool-call format
    from chat.step import take_step, StepOutcome    # the multi-turn step eval, RL and synthesis share

Nothing in this package executes model text (invariant 2 of docs/design.md; a step runs calls through the executor it is
given); see docs/architecture.md §chat for the contract.
"""
