"""Rendering options shared by SFT, RL and eval: one recipe section (`chat:`) read by the one renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class ChatOptions:
    tool_format: Literal["hermes", "pythonic"] = field(
        default="pythonic",
        metadata={
            "help": "hermes: Qwen3 <tool_call>{json}</tool_call> with tools in the template's system block; "
            "pythonic: BFCL prompting [f(a=1)] with BFCL's default system prompt."
        },
    )
    pythonic_mode: Literal["compat", "strict"] = field(
        default="compat",
        metadata={"help": "compat: decode exactly as BFCL (keyword args only); strict: map positional args too."},
    )
    history_reasoning: Literal["drop", "keep"] = field(
        default="drop",
        metadata={"help": "Whether earlier assistant turns keep their <think> part in the prompt."},
    )
    think_prefill: bool = field(
        default=False, metadata={"help": "Append '<think>' after the generation prompt (FunReason-MT handler)."}
    )
    tool_results: Literal["separate", "merged"] = field(
        default="separate",
        metadata={
            "help": "separate: one tool message per result (BFCL's handlers); merged: all results of a step in one "
            "tool message whose content is str(list_of_results), as FunReason-MT's BFCL handler fed them back."
        },
    )
    hermes_holdout: Literal["tools", "message"] = field(
        default="tools",
        metadata={
            "help": "miss_func in hermes format: `tools` extends the tool list and says BFCL's FC sentence (FC "
            "handlers); `message` puts the repr of the new docs in the user message as BFCL's prompting loop "
            "(which its local QwenFC handler runs) does. pythonic always uses the prompting message. SFT examples, "
            "RL tasks and eval render the turn that adds a held-out tool this same way (chat/holdout.py)."
        },
    )
    system_prompt: str | None = field(
        default=None, metadata={"help": "Extra system text; BFCL's prompt is prepended to it in pythonic format."}
    )
