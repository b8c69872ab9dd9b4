"""The four FunReason-MT agents (tooling, querying, reasoning, critic) plus the closing-reply writer.

    from funreason.synth.agents import Agents
    agents = Agents(teacher, json_retries=2)
    tool, why = await agents.tooling(trace_payload)             # (advanced tool dict | None, rejection reason)

Each agent builds an LLM prompt (`messages`) and the structured facts behind it (`payload`), asks the teacher, and
accepts only JSON that fits the role's schema and its extra checks; invalid output is re-asked `json_retries` times,
then the agent returns None with a reason such as `invalid_json`, `schema:calls`, `leaks_steps`, `teacher:timeout`.
Teachers raising `TeacherError(kind)` never crash synthesis: the kind becomes the reason.

Decisions (docs/funreason-mt.md §12):
- The advanced tool's description must not name any primitive tool of the trace (it hides the steps); a hard query
  must not name them either, and with a withheld parameter it must not contain that value.
- The critic sees the failed calls, the verdict and the ground truth, and its hint is rejected if it contains any
  ground-truth call string or argument value the user did not already give (no answer leaks; §12.9).
- Reasoning output is one step, `{"think": str, "calls": [{"name", "arguments"}]}`; calls must name offered tools;
  `calls: []` (done) is accepted once the round has a step (synth/phase3.py runs the steps).
- The critic sees the failed steps with their results and a bounded state diff (synth/phase3.py), never whole
  states; `last_prompt_chars` is the size of the last request (reported in stats for the critic).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

from funreason.chat.messages import split_think
from funreason.synth.teachers.base import Teacher, TeacherError

ADVANCED_TOOL_SCHEMA = {
    "type": "object",
    "required": ["name", "description", "parameters", "returns"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "parameters": {"type": "object"},
        "returns": {"type": "string"},
    },
}
QUERY_SCHEMA = {"type": "object", "required": ["query"], "properties": {"query": {"type": "string", "minLength": 1}}}
REASONING_SCHEMA = {
    "type": "object",
    "required": ["think", "calls"],
    "properties": {
        "think": {"type": "string", "minLength": 1},
        "calls": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "arguments"],
                "properties": {"name": {"type": "string", "minLength": 1}, "arguments": {"type": "object"}},
            },
        },
    },
}
CRITIC_SCHEMA = {"type": "object", "required": ["hint"], "properties": {"hint": {"type": "string", "minLength": 1}}}
CLOSING_SCHEMA = {
    "type": "object",
    "required": ["think", "reply"],
    "properties": {"think": {"type": "string"}, "reply": {"type": "string", "minLength": 1}},
}
SCHEMAS = {
    "tooling": ADVANCED_TOOL_SCHEMA,
    "querying": QUERY_SCHEMA,
    "reasoning": REASONING_SCHEMA,
    "critic": CRITIC_SCHEMA,
    "closing": CLOSING_SCHEMA,
}

SYSTEM_PROMPTS = {
    "tooling": (
        "You design APIs. You are given an executed trace of primitive tool calls with their results. Fold the "
        "whole trace into ONE advanced tool that a user could call with high-level inputs only. Its description "
        "must say what the tool achieves and must NOT mention the intermediate steps or any primitive tool name. "
        'Answer with JSON only: {"name": str, "description": str, "parameters": {param: {"type": str, '
        '"description": str}}, "returns": str}.'
    ),
    "querying": (
        "You write user requests. Given an advanced tool (mode=hard) write a natural request that needs exactly "
        "what the tool does, giving only its high-level inputs and never naming tools or intermediate steps. In "
        "mode=forward, describe the given steps one by one instead. Apply the noise settings: paraphrase changes "
        "wording, distractor adds one irrelevant personal detail. If `withhold` names a parameter, leave its value "
        "out entirely. In mode=supply, write the short follow-up message that gives the withheld value. Every "
        "input value you are given (names, IDs, numbers, dates, file names, amounts) must appear in the request "
        "verbatim, exactly as given (same spelling, digits and case), or the request cannot be carried out. "
        'Answer with JSON only: {"query": str}.'
    ),
    "reasoning": (
        "You are a careful assistant with tools, working one step at a time. Read the request, the conversation "
        "so far, the hints, and `steps`: the calls you already made in this request with what each returned. "
        "Think about which primitive tools the request needs (including implicit intermediate steps), then give "
        "the NEXT calls only: those whose every argument value you already know, from the request, the "
        "conversation or a result shown in `steps`. A call that needs a value a result has not shown yet (a "
        "token, an ID) waits for the next step. If a call came back with a temporary error, retry it or find "
        "another way. When the request is fully done, answer with no calls. Never mention hints. "
        'Answer with JSON only: {"think": str, "calls": [{"name": str, "arguments": {...}}]}.'
    ),
    "critic": (
        "You review a failed attempt. Compare the attempted steps (calls and what they returned) with the "
        "reference calls and the checker's verdict (which state fields differ), and write ONE short hint that "
        "names the specific error (a missing step, a wrong tool, a wrong kind of argument) WITHOUT giving the "
        'reference calls or argument values. Answer with JSON only: {"hint": str}.'
    ),
    "closing": (
        "You are the assistant. mode=summary: the tool results are in; reply briefly to the user with the outcome. "
        "mode=ask_param: a needed value is missing; ask the user for it. mode=cannot: no available tool can do the "
        'request; say so briefly. Answer with JSON only: {"think": str, "reply": str}.'
    ),
}

_TYPES = {"object": dict, "array": list, "string": str, "number": (int, float), "integer": int, "boolean": bool}


def schema_errors(value: Any, schema: dict, path: str = "$") -> list[str]:
    """A small JSON-schema subset (type, required, properties, items, minLength): the errors, empty when valid."""
    expected = schema.get("type")
    if expected:
        fits = isinstance(value, _TYPES[expected]) and (expected == "boolean" or not isinstance(value, bool))
        if not fits:
            return [f"{path}: expected {expected}"]
    errors = []
    if isinstance(value, str) and len(value.strip()) < schema.get("minLength", 0):
        errors.append(f"{path}: empty")
    if isinstance(value, dict):
        errors += [f"{path}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a reply, by the one reasoning splitter (`chat.messages.split_think`): a thinking
    teacher's `<think>...</think>` (or its reasoning_content, which the OpenAI client puts back in that form; or, as
    Qwen3 Thinking templates emit it, text ending in `</think>` with the opening tag in the prompt) is the
    reasoning, what follows `</think>` the answer. An unclosed `<think>` (a reply cut off while thinking) has no
    answer."""
    text = text or ""
    reasoning, answer = split_think(text)
    if reasoning is not None:
        return reasoning.strip(), answer.strip()
    if "<think>" in text:
        return text.split("<think>", 1)[1].strip(), ""
    return "", text.strip()


def parse_json_reply(text: str) -> Any:
    """The JSON object in a reply's *answer* (never its reasoning, whose braces are prose): the whole answer, else
    a ```json fence, else the outermost {...}; ValueError."""
    text = split_reasoning(text)[1]
    for candidate in (text, *re.findall(r"```(?:json)?\s*(.*?)```", text, flags=re.S)):
        try:
            return json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            pass
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            pass
    raise ValueError("no JSON object in the reply")


def _names_tool(text: str, name: str) -> bool:
    r"""Does `text` name the tool: `name(`, `\`name\``, or a compound identifier (get_x, startEngine) as a word?
    Plain words (add, sort, find) also occur in ordinary descriptions, so they count only in call/code form."""
    return _tool_mention(name).search(text) is not None


@functools.lru_cache(maxsize=4096)
def _tool_mention(name: str) -> re.Pattern:
    # Compiled once per tool name: every tooling and querying reply is checked against every primitive tool.
    forms = [rf"(?<![\w.]){re.escape(name)}\(", rf"`{re.escape(name)}`"]
    if "_" in name or any(c.isupper() for c in name[1:]):
        forms.append(rf"\b{re.escape(name)}\b")
    return re.compile("|".join(forms))


def _user_message(payload: dict, keys: list[str], rendered: dict[int, tuple[Any, str | None]] | None = None) -> dict:
    shown = {k: payload[k] for k in keys if k in payload}
    try:
        content = indented_json(shown, rendered)
    except RecursionError:  # a circular payload: let json raise its own error
        content = json.dumps(shown, ensure_ascii=False, indent=1, default=str)
    return {"role": "user", "content": content}


# --- json.dumps(value, ensure_ascii=False, indent=1, default=str), fast ------------------------------------------
# Every teacher request renders its payload (tool docs, traces) this way. With `indent`, Python 3.11's json falls
# back from its C encoder to a generator per nesting level, which was a large share of synthesis CPU; this
# recursive version writes the same text (same type checks in the same order, same float and key rules, the C
# string escaper) in well under half the time. `rendered` ({id(value): (value, its text or None)}) holds dicts
# that never change (the tool docs every reasoning prompt shows): each is rendered on first use (or found in
# `_FIXED_TEXT`), then its text is spliced in, shifted to the nesting level (rendered strings hold no raw
# newline: the escaper writes "\\n").

_NEWLINES = ["\n" + " " * level for level in range(64)]


def _newline(level: int) -> str:
    return _NEWLINES[level] if level < len(_NEWLINES) else "\n" + " " * level


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return float.__repr__(value)


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float_text(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _encode(value: Any, level: int, out: list[str], rendered: dict[int, tuple[Any, str | None]] | None) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float_text(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = _newline(level + 1)
        separator, rest = "[" + inner, "," + inner
        for item in value:
            if isinstance(item, str):  # most items: inline, one part each
                out.append(separator + encode_basestring(item))
            else:
                out.append(separator)
                _encode(item, level + 1, out, rendered)
            separator = rest
        out.append(_newline(level) + "]")
    elif isinstance(value, dict):
        fixed = rendered.get(id(value)) if rendered else None
        if fixed is not None:
            text = fixed[1]
            if text is None:  # first use in this trajectory: render it once, at level 0
                text = _render_fixed(value)
                rendered[id(value)] = (value, text)
            out.append(text.replace("\n", _newline(level)) if level else text)
            return
        if not value:
            out.append("{}")
            return
        inner = _newline(level + 1)
        separator, rest = "{" + inner, "," + inner
        for key, item in value.items():
            head = separator + encode_basestring(key if isinstance(key, str) else _key_text(key)) + ": "
            if isinstance(item, str):  # most items: inline, one part each
                out.append(head + encode_basestring(item))
            else:
                out.append(head)
                _encode(item, level + 1, out, rendered)
            separator = rest
        out.append(_newline(level) + "}")
    else:
        _encode(str(value), level, out, rendered)  # default=str


# Compact JSON -> indented text, across trajectories (each trajectory has its own copies of the same tool docs).
# Compact JSON (the C encoder, fast) fixes the token sequence, so it fixes the indented text too.
_FIXED_TEXT: dict[str, str] = {}


def _render_fixed(value: dict) -> str:
    key = json.dumps(value, ensure_ascii=False, default=str)
    text = _FIXED_TEXT.get(key)
    if text is None:
        if len(_FIXED_TEXT) >= 4096:
            _FIXED_TEXT.clear()
        text = _FIXED_TEXT[key] = indented_json(value)
    return text


def indented_json(value: Any, rendered: dict[int, tuple[Any, str | None]] | None = None) -> str:
    """Exactly `json.dumps(value, ensure_ascii=False, indent=1, default=str)`, without the circularity check."""
    out: list[str] = []
    _encode(value, 0, out, rendered)
    return "".join(out)


# What each role's LLM prompt shows (the template teacher reads the whole payload; LLMs never see ground truth,
# except the critic, which must compare against it).
PROMPT_KEYS = {
    "tooling": ["trace"],
    "querying": ["mode", "advanced_tool", "steps", "inputs", "noise", "withhold", "value"],
    "reasoning": ["conversation", "query", "tools", "hints", "steps"],
    "critic": ["query", "attempt", "verdict", "ground_truth"],
    "closing": ["mode", "query", "calls", "results", "param", "tool"],
}


class Agents:
    """Asks the teacher for each role and validates; counts every request in `self.requests`.

    `fixed`: dicts that payloads will show and that nobody changes while this object is used (the environment's
    tool docs); their prompt text is rendered once instead of in every request.
    """

    def __init__(self, teacher: Teacher, json_retries: int = 2, fixed: Iterable[dict] = ()):
        self.teacher = teacher
        self.json_retries = json_retries
        self.requests = 0
        self.last_prompt_chars = 0  # characters of the last request's messages (stats: critic prompt size)
        # Keyed by id(); the value itself is kept alongside so that its id cannot be reused by another object.
        self._rendered: dict[int, tuple[Any, str | None]] = {id(value): (value, None) for value in fixed}

    async def ask(self, role: str, payload: dict, check=None) -> tuple[dict | None, str | None]:
        keys = PROMPT_KEYS[role]
        if role == "querying" and payload.get("mode") == "hard":
            keys = [k for k in keys if k != "steps"]  # A_Q sees only the advanced tool (Eq. 4), not the trace
        messages = [{"role": "system", "content": SYSTEM_PROMPTS[role]}, _user_message(payload, keys, self._rendered)]
        self.last_prompt_chars = sum(len(m["content"]) for m in messages)
        reason = None
        for _ in range(1 + self.json_retries):
            self.requests += 1
            try:
                text = await self.teacher.generate(role, messages, payload)
            except TeacherError as e:
                return None, f"teacher:{e.kind}"
            try:
                value = parse_json_reply(text)
            except ValueError:
                reason = "invalid_json"
                continue
            errors = schema_errors(value, SCHEMAS[role])
            if errors:
                reason = "schema:" + errors[0].split(":")[0].removeprefix("$.").split("[")[0].split(".")[0]
                continue
            problem = check(value) if check else None
            if problem:
                reason = problem
                continue
            return value, None
        return None, reason

    async def tooling(self, payload: dict) -> tuple[dict | None, str | None]:
        primitive = {s["name"] for s in payload["trace"]}

        def check(tool: dict) -> str | None:
            if tool["name"] in primitive:
                return "advanced_tool_is_primitive"
            if any(_names_tool(tool["description"], n) for n in primitive):
                return "leaks_steps"
            return None

        return await self.ask("tooling", payload, check)

    async def querying(self, payload: dict) -> tuple[dict | None, str | None]:
        primitive = {s["name"] for s in payload.get("trace", [])}
        withheld = payload.get("withhold")

        def check(reply: dict) -> str | None:
            query = reply["query"]
            if payload.get("mode") == "hard" and any(_names_tool(query, n) for n in primitive):
                return "query_names_tools"
            if withheld and payload.get("mode") != "supply":
                value = str(withheld["value"])
                if len(value) >= 2 and value in query:
                    return "query_leaks_withheld_value"
            return None

        return await self.ask("querying", payload, check)

    async def reasoning(self, payload: dict) -> tuple[dict | None, str | None]:
        offered = {t["name"] for t in payload["tools"]}

        def check(reply: dict) -> str | None:
            unknown = [c["name"] for c in reply["calls"] if c["name"] not in offered]
            if unknown:
                return "unknown_tool"
            if not reply["calls"] and not payload.get("steps"):
                return "no_calls"  # "done" before any call: a round always has calls
            return None

        return await self.ask("reasoning", payload, check)

    async def critic(self, payload: dict) -> tuple[dict | None, str | None]:
        secrets = set(payload.get("ground_truth_strings", []))
        given = payload.get("query", "")
        for call in payload.get("ground_truth", []):
            for value in call["arguments"].values():
                text = str(value)
                if len(text) >= 3 and text not in given:
                    secrets.add(text)

        def check(reply: dict) -> str | None:
            return "hint_leaks_answer" if any(s in reply["hint"] for s in secrets) else None

        return await self.ask("critic", payload, check)

    async def closing(self, payload: dict) -> tuple[dict | None, str | None]:
        return await self.ask("closing", payload)
