"""`template`: a deterministic, offline teacher that writes every agent's JSON from the structured payload.

    from funreason.synth.teachers.template import TemplateTeacher
    teacher = TemplateTeacher()
    text = await teacher.generate("querying", messages, payload)   # '{"query": "..."}'

It is the baseline for ablations and what tests and the demo use: no model, no network, no randomness of its own
(variation comes from the payload, which the trajectory's seeded RNG filled). Outputs are labelled: the teacher's
name, "template", is recorded in every trajectory's metadata.
It plays by a real teacher's information rules (invariant 6 of docs/design.md): the querying agent writes every step of the
chain as a clause of the request language (synth/teachers/requests.py: the tool's user-voice intent from
synth/teachers/intents.py with its values woven in, or an earlier result referred to in words), and the reasoning
agent reads that request back, with the results its prompt shows, to decide its calls; it never sees the chain.
So a request that leaves a step out is rejected by phase III's execution check, as it would be with a model.
Reasoning is step-wise: a call that refers to a result of the same request waits until that result is in; after an
injected transient error it retries the failed calls. Reasoning says where every argument comes from; closing
replies describe the results in plain words. The fixed sentences below were written for this project.
"""

from __future__ import annotations

import ast
import json
import re
import zlib

from funreason.synth.teachers.intents import intent
from funreason.synth.teachers.requests import SUPPLY, compose_clause, read_request, say, value_from_results, words_of

OPENERS = [
    "Could you {body}?",
    "I need you to {body}.",
    "Please {body}.",
    "Can you {body}? Thanks.",
    "I'd like you to {body}.",
]
_NOTHING = object()
JOINERS = [", then ", ", and after that ", "; also ", ", and then "]
FORWARD_OPENERS = ["Step by step, please: {body}.", "Do these in order: {body}."]
# A closing reply's first words vary with the request (chosen by a hash of the query, so still deterministic): one
# fixed opener would make every closing start alike, and a small model trained on the data learns to open every
# reply with it instead of with the tool call the request needs.
SUMMARY_OPENERS = [
    "Done.",
    "All set.",
    "Here's what came back:",
    "That's taken care of.",
    "Finished; the results:",
    "Everything went through.",
    "OK, the tools returned:",
    "Complete.",
]
DISTRACTORS = [
    "My neighbour's parrot kept me up all night, so bear with me.",
    "I'm typing this from a crowded ferry terminal.",
    "Also, the weather here turned oddly chilly this afternoon.",
    "I still haven't finished my second cup of tea.",
]


def phrase(doc: dict | None, name: str) -> str:
    """What a user asks for when they want the tool's job done, in their words (synth/teachers/intents.py), never
    its doc sentence."""
    return intent(name, doc)


def _pick(options: list[str], key: str) -> str:
    return options[zlib.crc32(key.encode("utf-8")) % len(options)]


class TemplateTeacher:
    name = "template"

    async def generate(self, role: str, messages: list[dict], payload: dict) -> str:
        return json.dumps(getattr(self, f"_{role}")(payload), ensure_ascii=False)

    async def aclose(self) -> None:
        return None

    def _tooling(self, p: dict) -> dict:
        steps = p["steps"]
        last = steps[-1]["name"]
        goals = "; ".join(s["phrase"] for s in steps)
        return {
            "name": f"{last}_workflow",
            "description": f"Completes the whole request in one call: {goals}.",
            "parameters": {i["param"]: {"type": type(i["value"]).__name__, "description": ""} for i in p["inputs"]},
            "returns": "The outcome of the request.",
        }

    def _querying(self, p: dict) -> dict:
        """Every step becomes a clause of the request language (synth/teachers/requests.py): its intent with its
        values woven in, or a value an earlier result holds referred to in words; a withheld value is left out
        (mode=supply writes the follow-up that gives it)."""
        noise = p.get("noise", {})
        variant = noise.get("variant", 0)
        withheld = p.get("withhold") or {}
        if p["mode"] == "supply":
            return {"query": SUPPLY.format(label=withheld["label"], value=say(withheld["value"]))}
        clauses = []
        for s in p["steps"]:
            stated = dict(s["stated"])
            if withheld.get("tool") == s["name"] and stated.get(withheld["param"], _NOTHING) == withheld["value"]:
                stated.pop(withheld["param"])
                withheld = {}  # one value is withheld, from one clause
            clauses.append(compose_clause(s["phrase"], s["labels"], stated, s["refs"]))
        joiner = JOINERS[variant % len(JOINERS)] if noise.get("paraphrase") else JOINERS[0]
        body = joiner.join(clauses)
        if p["mode"] == "forward":
            text = FORWARD_OPENERS[variant % len(FORWARD_OPENERS)].format(body="first " + body)
        else:
            opener = OPENERS[variant % len(OPENERS)] if noise.get("paraphrase") else OPENERS[0]
            text = opener.format(body=body)
        if noise.get("distractor"):
            text = f"{DISTRACTORS[variant % len(DISTRACTORS)]} {text}"
        return {"query": text}

    def _reasoning(self, p: dict) -> dict:
        """The next step, decided from what the prompt shows: the request's clauses (read back by
        synth/teachers/requests.py), the results of this request's calls so far and the conversation's. One call
        per clause, in order; a clause that refers to a result of this request waits until every call before it has
        returned; after a transient error the failed calls are retried. Never the phase-I chain: a clause the
        request does not have is a call this agent does not make."""
        tools = p["tools"]
        docs = {t["name"]: t for t in tools}
        query = p.get("query", "")
        clauses = read_request(query, tools)
        steps = p.get("steps", [])
        returned = [r for s in steps for r in s["results"] if not _is_error(r)]
        done = len(returned)
        if not clauses:
            return {"think": "I can't tell what the request asks me to do with these tools.", "calls": []}
        if done >= len(clauses):
            return {"think": _pick(DONE_LINES, query), "calls": []}
        earlier = [r for h in p.get("conversation", []) for r in h.get("results", [])]
        batch, missing = [], None
        for clause in clauses[done:]:
            props = ((docs[clause.name].get("parameters") or {}).get("properties")) or {}
            args = {k: clause.stated[k] for k in props if k in clause.stated}
            if any(kind == "this" for kind in clause.refs.values()) and batch:
                break  # it needs what the calls before it return
            for param, kind in clause.refs.items():
                ptype = (props.get(param) or {}).get("type", "string")
                value = value_from_results(param, ptype, returned if kind == "this" else earlier)
                if value is None:
                    missing = missing or f"the {words_of(param)} for `{clause.name}`"
                    break
                args[param] = value
            if missing:
                break
            batch.append((clause, {k: args[k] for k in props if k in args}))
        if not batch:
            return {"think": f"I can't find {missing} in anything shown so far.", "calls": []}
        failed = [c["name"] for c, r in zip(steps[-1]["calls"], steps[-1]["results"]) if _is_error(r)] if steps else []
        if failed:
            names = " and ".join(f"`{n}`" for n in _dedupe(failed))
            lines = [f"{names} came back with a temporary error and did not go through; nothing changed, so I retry."]
        elif not steps:
            n = len(clauses)
            lines = [_pick(PLAN_OPENERS, query).format(n=n, s="" if n == 1 else "s")]
        else:
            lines = [_pick(NEXT_LINES, query + str(done))]
        for i, (clause, args) in enumerate(batch, done + 1):
            what = _third_person(p.get("phrases", {}).get(clause.name, clause.name))
            sources = [_source(k, v, clause) for k, v in args.items()]
            used = f" ({'; '.join(sources)})" if sources else ""
            lines.append(f"{i}. `{clause.name}` to {what}{used}.")
        if done + len(batch) < len(clauses):
            lines.append("The rest needs what these return, so it waits for the results.")
        return {"think": "\n".join(lines), "calls": [{"name": c.name, "arguments": a} for c, a in batch]}

    def _critic(self, p: dict) -> dict:
        verdict = p.get("verdict", {})
        expected = len(p.get("ground_truth", []))
        got = sum(len(s["calls"]) for s in p.get("attempt", []))
        if verdict.get("error_type", "").endswith("state_mismatch"):
            field = next(iter(verdict.get("state_diff") or {"state": 0})).split(".")[-1]
            hint = f"After your calls the '{field}' state is not what the request implies; re-check which actions "
            hint += "change it and their arguments."
        else:
            hint = "A result the request depends on is missing: a needed lookup or action was skipped or used "
            hint += "different arguments."
        if expected != got:
            hint += f" The request needs {expected} call(s); you made {got}."
        return {"hint": hint}

    def _closing(self, p: dict) -> dict:
        mode = p["mode"]
        if mode == "ask_param":
            param = p["param"].replace("_", " ")
            return {"think": f"The {param} is required but was not given.", "reply": f"Which {param} should I use?"}
        if mode == "cannot":
            return {
                "think": "None of the available tools can do this.",
                "reply": "I can't do that with the tools I have right now.",
            }
        calls = [c.split("(", 1)[0] for c in p.get("calls", [])]
        pieces = [_describe(name, result) for name, result in zip(calls, p.get("results", []))]
        pieces = [x for x in _dedupe(pieces) if x]
        reply = _pick(SUMMARY_OPENERS, p.get("query", ""))
        if pieces:
            reply += " " + " ".join(pieces)
        return {"think": f"All {len(calls)} call(s) went through; I tell the user what came back.", "reply": reply}


DONE_LINES = [
    "Everything the request needs has gone through.",
    "That covers the whole request.",
    "All the needed calls are done.",
]
NEXT_LINES = [
    "The results are in, so the next calls have what they need.",
    "With those results I can go on.",
    "Now that I have the results, the next step:",
]
PLAN_OPENERS = [
    "This takes {n} call{s}; here is the order and where each value comes from.",
    "Plan ({n} call{s}), checking what each step needs first:",
    "I need {n} call{s}. Working backwards from what the user wants:",
]


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


_PERSON = [
    (r"\b(tell|show|give|sign|log) me\b", r"\1 the user"),
    (r"\bmy\b", "the user's"),
    (r"\bI'm\b", "the user is"),
    (r"\bI've\b", "the user has"),
    (r"\bI (follow|have|sent)\b", r"the user \1"),
    (r"\bwe're\b", "the car is"),
    (r"\bme\b", "the user"),
]


def _third_person(text: str) -> str:
    """A user's intent ("show me my bookings") as the assistant plans it ("show the user the user's bookings")."""
    for pattern, repl in _PERSON:
        text = re.sub(pattern, repl, text)
    return text


def _is_error(result: str) -> bool:
    """An error answer in BFCL's shape (`{"error": ...}`): a verified phase-I result never is one."""
    return result.startswith('{"error": ')


def _source(param: str, value, clause) -> str:
    kind = clause.refs.get(param)
    where = {
        "this": "from what the calls so far returned",
        "before": "from what we saw earlier",
    }.get(kind, "from the request")
    return f"{words_of(param)} {value!r} {where}"


_WRAPPED_NUMBER = re.compile(r"\b(?:mpf|Decimal)\((['\"]?)(-?[\d.eE+-]+)\1\)")


def _result_value(result: str):
    """A tool result as a value: JSON, or a Python literal whose numbers may be wrapped (`mpf('1.55')`,
    `Decimal('2.5')`, as MathAPI returns them) and are read as plain numbers; the text itself otherwise."""
    try:
        return json.loads(result)
    except (json.JSONDecodeError, TypeError):
        pass
    try:
        return ast.literal_eval(_WRAPPED_NUMBER.sub(r"\2", result))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return result


def _describe(name: str, result: str) -> str:
    """One sentence on one call's result in plain words: a calculator's number as a number, a dict's fields as
    "field: value", a few list items, the start of long text; never raw JSON, dicts, lists or `mpf(...)`; "" for a
    result that says nothing (mkdir's None)."""
    value = _result_value(result)
    if value in (None, "None", ""):
        return ""
    number = next(iter(value.values()), None) if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        return f"The {words_of(next(iter(value)))} is {_short(number)}."
    if isinstance(value, list):
        return f"It returned {_short(value)}."
    if not isinstance(value, dict):
        return f"The answer was {_short(value)}."
    parts = [f"{words_of(k)}: {_short(v)}" for k, v in list(value.items())[:4]]
    more = f" (plus {_count(len(value) - 4, 'more detail', 'more details')})" if len(value) > 4 else ""
    text = "; ".join(parts)
    return f"{text[:1].upper()}{text[1:]}{more}."


def _short(value) -> str:
    """A value in words: yes/no, numbers as numbers (at most 4 decimals), short text, a few list items, a count of
    a dict's entries."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        value = value.rstrip(".")
        return value if len(value) <= 60 else value[:57].rstrip() + "..."
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value and abs(value) < 1e15 else str(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "nothing"
        if all(isinstance(v, dict) for v in value):
            return _count(len(value), "record", "records")
        head = ", ".join(_short(v) for v in value[:3] if not isinstance(v, (dict, list)))
        more = f" and {len(value) - 3} more" if len(value) > 3 else ""
        return f"{head}{more}" if head else _count(len(value), "entry", "entries")
    if isinstance(value, dict):
        inner = [f"{words_of(k)} {_short(v)}" for k, v in list(value.items())[:3] if not isinstance(v, (dict, list))]
        return ", ".join(inner) if inner else _count(len(value), "entry", "entries")
    return str(value)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
