"""The template teacher's request language: how a clause asks for one call, and how a reader gets the call back.

    from funreason.synth.teachers.requests import clause_text, read_request, value_from_results
    clause_text("edit_ticket", doc, {"ticket_id": 8365}, {})       # "update a support ticket with ticket id 8365"
    read_request(query, docs)          # [Clause(name="edit_ticket", stated={"ticket_id": 8365}, refs={})]
    value_from_results("ticket_id", "integer", results)   # the one ticket id the newest result holding one shows

The offline reasoning agent must decide its calls from what its prompt shows (invariant 6 of docs/design.md), as a model
would, never from the phase-I chain it is checked against. So the template querying agent writes each call as a
clause of a small, regular language a program can read back: the tool's user-voice intent
(synth/teachers/intents.py), then `with` and its values woven in as `label value` (`file name 'notes.txt'`,
`ticket id 8365`, a flag as `show hidden files and directories: yes`), or, for a value an earlier result holds, a
reference in words: `the ticket id from that` (a result of this request's earlier calls) or `the ticket id you
found earlier` (a result of an earlier request in the conversation). `read_request` parses that text back; it is
the only thing the template reasoning agent knows about what was asked, so a request that leaves a clause out
makes that agent leave the call out, and phase III's execution check rejects the round, as it would with a model.

A reference resolves by `value_from_results`: the newest result that holds a field named for the parameter (or
its output alias: `receiver_id` is `user_id`; `id` for a `*_id`) gives the value when it holds exactly one; the
writer refers to a value only when that rule finds it, so writer and reader agree.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from funreason.synth.sampler import OUTPUT_ALIASES, _fits, _leaves
from funreason.synth.teachers.intents import INTENTS, intent

REF_THIS = "the {label} from that"  # a result of an earlier call of this request
REF_BEFORE = "the {label} you found earlier"  # a result shown in an earlier request of the conversation
SUPPLY = "Sorry, I left that out: the {label} is {value}."


@dataclass
class Clause:
    """One asked-for call as a request states it: the tool, the values said, the values referred to."""

    name: str
    stated: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # param -> "this" | "before"
    start: int = 0  # where the clause begins in the request text


@functools.lru_cache(maxsize=4096)
def words_of(key: str) -> str:
    """`fanSpeed` / `file_name` -> "fan speed" / "file name"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", key).replace("_", " ").lower()


def _properties(doc: dict | None) -> dict:
    return ((doc or {}).get("parameters") or {}).get("properties") or {}


def label(doc: dict | None, param: str) -> str:
    """How a request names a parameter: its words (`ticket id`), or for a flag the first sentence of its
    description (`show hidden files and directories`), which says what turning it on does."""
    schema = _properties(doc).get(param) or {}
    if schema.get("type") == "boolean":
        first = (schema.get("description") or "").split(". ")[0].strip().rstrip(".")
        if first.lower().startswith("if true, "):
            first = first[len("if true, ") :]
        if first and "," not in first and len(first.split()) <= 8:
            return first[:1].lower() + first[1:] + ":"
        return words_of(param) + ":"
    return words_of(param)


def say(value: Any) -> str:
    """A value as the request writes it: a flag as yes/no; a set of changes (`{'priority': 3}`, edit_ticket's
    `updates`) as `setting priority to 3 and status to 'Open'`; anything else as a Python literal (quoted text,
    numbers as they are). `read_value` reads each back exactly."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_settings(value):
        changes = [f"{k} to {say(v)}" for k, v in value.items()]
        return "setting " + (changes[0] if len(changes) == 1 else ", ".join(changes[:-1]) + " and " + changes[-1])
    return repr(value)


_KEY = re.compile(r"[a-z]+")


def _is_settings(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and _KEY.fullmatch(k) for k in value)
        and not any(isinstance(v, (dict, list, tuple)) for v in value.values())
    )


def read_value(text: str, i: int) -> tuple[Any, int] | None:
    """(value, end) of what `say` wrote at `text[i]`, or None."""
    if not text.startswith("setting ", i):
        return read_literal(text, i)
    out, pos = {}, i + len("setting ")
    while True:
        m = _KEY.match(text, pos)
        if not m or not text.startswith(" to ", m.end()):
            return (out, pos) if out else None
        read = read_literal(text, m.end() + len(" to "))
        if read is None:
            return (out, pos) if out else None
        out[m.group()], end = read
        pos = end
        for separator in (", ", " and "):
            m = _KEY.match(text, end + len(separator)) if text.startswith(separator, end) else None
            if m and text.startswith(" to ", m.end()):
                pos = end + len(separator)
                break
        else:
            return out, end


def clause_text(name: str, doc: dict | None, stated: dict, refs: dict[str, str]) -> str:
    """The clause asking for one call of `name`: its intent, then every value said or referred to."""
    labels = {p: label(doc, p) for p in [*stated, *refs]}
    return compose_clause(intent(name, doc), labels, stated, refs)


def compose_clause(head: str, labels: dict[str, str], stated: dict, refs: dict[str, str]) -> str:
    """`head` (the intent) `with` each stated value (`label value`) and each reference (`the label from that`)."""
    parts = [f"{labels[p]} {say(v)}" for p, v in stated.items()]
    for param, kind in refs.items():
        if param not in stated:
            parts.append((REF_THIS if kind == "this" else REF_BEFORE).format(label=labels[param]))
    if not parts:
        return head
    tail = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{head} with {tail}"


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_CLOSE = {"[": "]", "{": "}", "(": ")"}


def read_literal(text: str, i: int) -> tuple[Any, int] | None:
    """(value, end) of the literal `say` wrote at `text[i]`, or None."""
    if text.startswith("yes", i):
        return True, i + 3
    if text.startswith("no", i) and not text[i + 2 : i + 3].isalpha():
        return False, i + 2
    for word, value in (("True", True), ("False", False), ("None", None)):
        if text.startswith(word, i):
            return value, i + len(word)
    if i >= len(text):
        return None
    end = _literal_end(text, i)
    if end is None:
        return None
    inner = text[i + 1 : end - 1]
    if text[i] in "'\"" and "\\" not in inner:  # the common case, without the parser: plain text in quotes
        return inner, end
    if text[i] not in "'\"[{(":
        number = text[i:end]
        return (float(number) if any(c in number for c in ".eE") else int(number)), end
    try:
        return ast.literal_eval(text[i:end]), end
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _literal_end(text: str, i: int) -> int | None:
    ch = text[i]
    if ch in "'\"":
        j = i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text[j] == ch:
                return j + 1
            j += 1
        return None
    if ch in _CLOSE:
        stack, j = [], i
        while j < len(text):
            c = text[j]
            if c in "'\"":
                end = _literal_end(text, j)
                if end is None:
                    return None
                j = end
                continue
            if c in _CLOSE:
                stack.append(_CLOSE[c])
            elif stack and c == stack[-1]:
                stack.pop()
                if not stack:
                    return j + 1
            j += 1
        return None
    m = _NUMBER.match(text, i)
    return m.end() if m else None


def _read_args(text: str, i: int, doc: dict | None, clause: Clause) -> int:
    """Reads `with label value, label value and ...` from `text[i]` into `clause`; returns where it stopped."""
    if not text.startswith(" with ", i):
        return i
    labels = _labels_longest_first(doc)
    pos = i + len(" with ")
    while True:
        for text_label, param in labels:
            for kind, template in (("this", REF_THIS), ("before", REF_BEFORE)):
                ref = template.format(label=text_label)
                if text.startswith(ref, pos):
                    clause.refs[param] = kind
                    pos += len(ref)
                    break
            else:
                if not text.startswith(text_label + " ", pos):
                    continue
                read = read_value(text, pos + len(text_label) + 1)
                if read is None:
                    continue
                clause.stated[param], pos = read
            break
        else:
            return pos
        for separator in (", ", " and "):
            if text.startswith(separator, pos) and any(
                text.startswith(x, pos + len(separator)) for x in _starts(labels)
            ):
                pos += len(separator)
                break
        else:
            return pos


def _labels_longest_first(doc: dict | None) -> list[tuple[str, str]]:
    """(label, param) of a tool's parameters, longest label first (so `file name1` is tried before `file name`);
    cached by the parameters' schema, as a request is read again at every reasoning step."""
    key = json.dumps(_properties(doc), sort_keys=True)
    found = _LABELS.get(key)
    if found is None:
        if len(_LABELS) > 4096:
            _LABELS.clear()
        found = _LABELS[key] = sorted(((label(doc, p), p) for p in _properties(doc)), key=lambda x: -len(x[0]))
    return found


_LABELS: dict[str, list[tuple[str, str]]] = {}


def _starts(labels: list[tuple[str, str]]) -> list[str]:
    return [lab + " " for lab, _ in labels] + [f"the {lab} " for lab, _ in labels]


def read_request(text: str, docs: list[dict]) -> list[Clause]:
    """The clauses of a request the template querying agent wrote (see the module doc), in order; a follow-up that
    supplies a left-out value (`SUPPLY`) fills the first clause whose tool needs it and lacks it."""
    by_phrase = {intent(d["name"], d): d for d in docs}
    pattern = _intents_pattern(tuple(sorted(p for p in by_phrase if p not in _KNOWN)))
    clauses: list[Clause] = []
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        doc = by_phrase.get(m.group())
        if doc is None:  # the intent of a tool this prompt does not offer
            pos = m.start() + 1
            continue
        clause = Clause(doc["name"], start=m.start())
        pos = max(_read_args(text, m.end(), doc, clause), m.end())
        clauses.append(clause)
    _apply_supplied(text, docs, clauses)
    return clauses


_KNOWN = frozenset(INTENTS.values())


@functools.lru_cache(maxsize=64)
def _intents_pattern(extra: tuple[str, ...]) -> re.Pattern:
    """Every known intent (and `extra`, those of other environments' tools) as one pattern, compiled once: the
    earliest in the text, the longest of those starting there (no intent is the start of another), at a word
    start ("follow someone" is not found inside "unfollow someone")."""
    ordered = sorted(_KNOWN | set(extra), key=len, reverse=True)
    return re.compile(r"(?<![0-9A-Za-z])(?:" + "|".join(re.escape(p) for p in ordered) + ")")


def _apply_supplied(text: str, docs: list[dict], clauses: list[Clause]) -> None:
    """A follow-up's value goes to the first clause that lacks it and needs it (a required parameter), else to the
    first that lacks it and takes it."""
    by_name = {d["name"]: d for d in docs}
    head = SUPPLY.split("{label}")[0]
    at = text.find(head)
    if at < 0:
        return
    rest = text[at + len(head) :]
    for required_only in (True, False):
        for clause in clauses:
            doc = by_name[clause.name]
            required = set((doc.get("parameters") or {}).get("required") or [])
            for param in _properties(doc):
                if param in clause.stated or param in clause.refs or (required_only and param not in required):
                    continue
                prefix = f"{label(doc, param)} is "
                read = read_value(rest, len(prefix)) if rest.startswith(prefix) else None
                if read is not None:
                    clause.stated[param] = read[0]
                    return


_FIELD = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)')


@functools.lru_cache(maxsize=4096)
def _fields(result: str) -> tuple[tuple[str, Any], ...]:
    """(field, value) pairs of a tool result: all of a JSON result's leaves; from a cut-off one (a conversation
    shows the first few hundred characters), the complete `"field": scalar` pairs it still has. Cached: every
    reference a request writes or reads scans the same results again (callers never change the values)."""
    try:
        return tuple(_leaves(json.loads(result)))
    except (json.JSONDecodeError, TypeError):
        return tuple((k, json.loads(v)) for k, v in _FIELD.findall(result or ""))


def source_fields(param: str, ptype: str = "string") -> tuple[str, ...]:
    """The result fields a parameter's value may come from: the sampler's own rule (synth/sampler.py: its name,
    its alias, `id` for a `*_id`), and for a number a calculator's `result` ("round the number from that")."""
    fields = (param, *OUTPUT_ALIASES.get(param, ()))
    fields += ("id",) if param.endswith("_id") else ()
    return fields + ("result",) if ptype in ("float", "integer", "number") else fields


def value_from_results(param: str, ptype: str, results: list[str]) -> Any:
    """The value for `param` that the newest result holding one of its `source_fields` shows, when it shows exactly
    one that fits `ptype`; None otherwise (no such result, or several candidates: a reader could not tell)."""
    fields = source_fields(param, ptype)
    for result in reversed(results):
        if result.startswith('{"error": '):
            continue
        values = []
        for key, value in _fields(result):
            if key in fields and (ptype == "array" or not isinstance(value, (list, dict))) and _fits(value, ptype):
                if value not in values:
                    values.append(value)
        if values:  # a copy: the cached result's own list must not become a call's argument
            return copy.deepcopy(values[0]) if len(values) == 1 else None
    return None
