"""One multi-turn step: a generated reply in, the history messages and the verdict out. Shared by eval's BFCL runner,
the GRPO rollout and synthesis's agents, so all of them read a reply and feed results back the same way.

    from funreason.chat.step import take_step
    step = take_step(text, options, tools, execute=Dispatcher(instances).execute_all)
    messages.append(step.assistant_message)      # the history entry for the reply
    messages += step.tool_messages               # the results fed back ([] unless calls ran)
    if step.ends_turn: ...                       # step.verdict: "decode_error" | "no_calls" | "executed"

The step is BFCL's (`inference_multi_turn_prompting`, one iteration of its inner loop): split the reasoning off the
reply as BFCL's Qwen handlers do (before the last ``</think>``: `chat.messages.split_think`), parse the rest in the
recipe's format (`chat.formats`); a reply that does not decode, or decodes to no call, ends the turn; otherwise the
calls run, in order, through `execute` and their results come back as tool messages. `execute(calls) -> results`
(one string per call) is the caller's: eval and RL pass `envs.dispatch.Dispatcher(instances).execute_all`, so
this package still executes nothing (invariant 2 of docs/design.md). Step limits, logs and token bookkeeping stay with the
caller (BFCL's 20-step force-quit in eval, ``max_tool_steps`` and the loss mask in RL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from funreason.chat.calls import ParseResult, ToolCall
from funreason.chat.formats import tool_format
from funreason.chat.messages import split_think
from funreason.chat.render import history_message, parse_assistant, tool_messages
from funreason.core.sections.chat import ChatOptions

Executor = Callable[[list[ToolCall]], list[str]]
Verdict = Literal["decode_error", "no_calls", "executed"]
DECODE_ERROR: Verdict = "decode_error"  # BFCL: "Error decoding the model response. Proceed to next turn."
NO_CALLS: Verdict = "no_calls"  # BFCL: "Empty response from the model. Proceed to next turn."
EXECUTED: Verdict = "executed"  # BFCL: "Successfully decoded model response." The calls ran; the turn goes on.


@dataclass
class StepOutcome:
    text: str  # the reply as generated
    response: str  # the text after the last </think> (all of it without one): what BFCL keeps as result[turn][step]
    reasoning: str  # the text before it, "" without one (BFCL's reasoning_content)
    parsed: ParseResult  # the reply parsed in the recipe's format (reasoning split off)
    assistant_message: dict  # the history message for the reply
    verdict: Verdict
    well_formed: bool  # decoded cleanly, or plain text that did not try the call syntax; </think> closed if prefilled
    results: list[str] = field(default_factory=list)  # one per call, in order ([] unless executed)
    tool_messages: list[dict] = field(default_factory=list)  # how the results are fed back ([] unless executed)

    @property
    def calls(self) -> list[ToolCall]:
        """The decoded calls ([] when the reply did not decode)."""
        return self.parsed.calls if self.parsed.ok else []

    @property
    def decoded(self) -> list[str]:
        """The calls as BFCL's inference log writes them (`model_response_decoded`)."""
        return [call.to_python() for call in self.calls]

    @property
    def ends_turn(self) -> bool:
        return self.verdict != EXECUTED


def take_step(text: str, options: ChatOptions | None, tools: list[dict] | None, execute: Executor) -> StepOutcome:
    """Read one generated reply; run its calls through `execute` unless it ends the turn (see the module doc)."""
    opts = options if options is not None else ChatOptions()
    reasoning, response = split_think(text)
    parsed = parse_assistant(text, opts, tools)
    calls = parsed.calls if parsed.ok else []
    unterminated = opts.think_prefill and "</think>" not in text
    looks_like_calls = tool_format(opts).looks_like_calls(text)
    outcome = StepOutcome(
        text=text,
        response=response,
        reasoning=reasoning or "",
        parsed=parsed,
        assistant_message=history_message(parsed, opts),
        verdict=DECODE_ERROR if not parsed.ok else (EXECUTED if calls else NO_CALLS),
        well_formed=not unterminated and (bool(calls) and not parsed.warnings or not calls and not looks_like_calls),
    )
    if calls:
        outcome.results = list(execute(calls))
        outcome.tool_messages = tool_messages(calls, outcome.results, opts)
    return outcome
