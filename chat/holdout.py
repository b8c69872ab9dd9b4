"""Held-out tools (BFCL's miss_func): the turn that adds them, rendered one way for eval, SFT and RL alike.

    from funreason.chat.holdout import holdout_turn, holdout_conversation
    tools, user = holdout_turn(tools, held_docs, options)     # eval's runner at BFCL's (empty) holdout turn
    conv = holdout_conversation(messages, record_tools, record["metadata"]["missed_function"], options)
    conv.messages          # the adding turn's user message is the one holdout_turn writes
    conv.tools_at(k)       # the docs a prompt ending at message k offers (held-out docs absent before their turn)

BFCL (`base_handler.inference_multi_turn_prompting` / `_FC`): a miss_func entry's `missed_function` maps a turn
index to docs removed from the entry's functions; that turn is empty in the data, and the loop announces the docs
there. Prompting handlers (our `pythonic`, and `hermes` with `hermes_holdout: message`, as BFCL's local QwenFC
handler runs the prompting loop) send one user message `DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING`
with the repr of the held docs; FC handlers (`hermes` with `hermes_holdout: tools`) extend the tool list from that
turn on and send `DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC`. Held docs are announced as BFCL announces them:
without the Python hint every offered doc carries (`chat.tools`): BFCL removes them before adding it.

Training data (synth records, or any row with `metadata.missed_function` = {turn: [tool names]}) keeps every doc
the conversation ever offers in `tools` and names the held ones per turn, as BFCL's data does; the user message of
the adding turn is a placeholder (synth writes BFCL's FC sentence) that `holdout_conversation` replaces with what
`holdout_turn` writes. So a held-out tool is absent from every prompt before the turn that adds it (invariant 6
of docs/design.md) and the adding turn's tokens are eval's (invariant 1).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from funreason.chat.formats import tool_format
from funreason.chat.schemas import as_bfcl_docs
from funreason.chat.tools import PYTHON_HINT, offered_docs
from funreason.core.errors import UserError
from funreason.core.sections.chat import ChatOptions

__all__ = ["HOLDOUT_FC", "HOLDOUT_PROMPTING", "HoldoutConversation", "HoldoutError", "holdout_conversation"]
__all__ += ["announced_docs", "holdout_turn", "user_turns"]

# bfcl_eval.constants.default_prompts (tests/eval/test_runner.py checks they are byte-identical to the package).
HOLDOUT_FC = "I have updated some more functions you can choose from. What about now?"
HOLDOUT_PROMPTING = "{functions}\n" + HOLDOUT_FC


class HoldoutError(UserError):
    """A conversation's `missed_function` does not fit its messages or tools."""


def holdout_turn(tools: list[dict] | None, held: list[dict], options: ChatOptions) -> tuple[list[dict] | None, dict]:
    """BFCL's holdout turn: (the docs offered from this turn on, the user message that announces `held`).
    `tools` are the docs offered so far, `held` the held-out docs as BFCL announces them (no Python hint)."""
    if tool_format(options).native_tools and options.hermes_holdout == "tools":
        return [*(tools or []), *held], {"role": "user", "content": HOLDOUT_FC}
    return tools, {"role": "user", "content": HOLDOUT_PROMPTING.format(functions=held)}


def announced_docs(messages: list[dict]) -> list[dict]:
    """The docs announced by holdout messages in the prompting form (`HOLDOUT_PROMPTING`): a model may call them
    though the prompt's tool list does not hold them (the renderer accepts such calls). Read with
    `ast.literal_eval` (literals only) from user messages; anything else announces nothing."""
    docs: list[dict] = []
    suffix = "\n" + HOLDOUT_FC
    for m in messages:
        content = m.get("content") if isinstance(m, dict) and m.get("role") == "user" else None
        if not isinstance(content, str) or not content.endswith(suffix):
            continue
        try:
            value = ast.literal_eval(content[: -len(suffix)])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, list):
            docs += [d for d in value if isinstance(d, dict) and isinstance(d.get("name"), str)]
    return docs


def user_turns(messages: list[dict]) -> list[tuple[int, int]]:
    """(start, end) message indices of every user turn: a run of consecutive user messages."""
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m.get("role") != "user":
            continue
        if spans and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def _announced(doc: dict) -> dict:
    """A held doc as BFCL announces it: without the Python hint (which data exported from hinted prompts may carry)."""
    description = doc.get("description")
    if isinstance(description, str) and description.endswith(PYTHON_HINT):
        return {**doc, "description": description[: -len(PYTHON_HINT)]}
    return doc


@dataclass
class HoldoutConversation:
    messages: list[dict]  # adding turns' user messages replaced by the holdout message
    stages: list[tuple[int, list[dict] | None]]  # (first message index, docs offered from there on), from 0
    all_docs: list[dict]  # every doc the conversation offers at some point (offered and held), for argument checks

    def tools_at(self, index: int) -> list[dict] | None:
        """The docs a prompt that ends at (or renders up to) message `index` offers."""
        return next(tools for start, tools in reversed(self.stages) if start <= index)


def _missed_names(missed: dict) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not isinstance(missed, dict):
        raise HoldoutError("missed_function must be a mapping {turn: [tool names]}")
    for turn, names in missed.items():
        if not str(turn).isdigit() or not isinstance(names, list):
            raise HoldoutError(f"missed_function {turn!r}: {names!r} is not turn index -> [tool names]")
        out[int(turn)] = [n["name"] if isinstance(n, dict) else str(n) for n in names]
    return dict(sorted(out.items()))


def holdout_conversation(
    messages: list[dict],
    tools: list[dict] | None,
    missed_function: dict | None,
    options: ChatOptions,
) -> HoldoutConversation:
    """The conversation as its prompts show it when `missed_function` ({user turn index: [tool names]}) holds
    tools out: before its turn a held tool is not offered; that turn's user message(s) become the one message
    `holdout_turn` writes, and the docs offered from then on are what it returns. `tools` are every doc the
    conversation offers (BFCL docs or OpenAI tools, hinted or not); the offered ones come out as
    `chat.tools.offered_docs` decides, the held ones as BFCL announces them. Without `missed_function` the
    messages and `tools` are returned as given. Raises HoldoutError when a held tool is not in
    `tools`, the turn is not a user turn of `messages`, or an assistant calls a held tool before its turn."""
    if not missed_function:
        return HoldoutConversation(list(messages), [(0, tools)], list(tools or []))
    missed = _missed_names(missed_function)
    docs = list(as_bfcl_docs(tools))
    all_docs = list(docs)
    held: dict[int, list[dict]] = {}
    for turn, names in missed.items():  # BFCL's populate step: the names' order; the first doc of a name moves
        held[turn] = []
        for name in names:
            i = next((i for i, d in enumerate(docs) if d.get("name") == name), None)
            if i is None:
                raise HoldoutError(f"missed_function holds out {name!r} at turn {turn}, not one of its tools")
            held[turn].append(_announced(docs.pop(i)))
    spans = user_turns(messages)
    out = list(messages)
    offered = offered_docs(docs)
    stages: list[tuple[int, list[dict] | None]] = [(0, offered)]
    shift = 0  # messages removed so far (a turn of several user messages becomes one)
    for turn, docs_held in held.items():
        if turn >= len(spans):
            raise HoldoutError(f"missed_function turn {turn} is not a user turn (it has {len(spans)})")
        start, end = spans[turn]
        names = {d.get("name") for d in docs_held}
        for m in messages[:start]:
            for call in m.get("tool_calls") or [] if m.get("role") == "assistant" else []:
                fn = call.get("function", call) if isinstance(call, dict) else {}
                if fn.get("name") in names:
                    raise HoldoutError(f"{fn.get('name')}() is called before turn {turn}, which adds it")
        offered, user = holdout_turn(offered, docs_held, options)
        out[start - shift : end - shift] = [user]
        stages.append((start - shift, offered))
        shift += end - start - 1
    return HoldoutConversation(out, stages, all_docs)
