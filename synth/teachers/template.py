"""`template`: a deterministic, offline teacher that writes every agent's JSON from the structured payload.

    from synth.teachers.template import TemplateTeacher
    teacher = TemplateTeacher()
    text = await teacher.generate("querying", messages, payload)   # '{"query": "..."}'

It is the baseline for ablations and what tests and the demo use: no model, no network, no randomness of its own
(variation comes from the payload, which the trajectory's seeded RNG filled). Outputs are labelled: the teacher's
name, "template", is recorded in every trajectory's metadata. Its reasoning answers with the executed ground truth,
so with it phase III passes on the first attempt; the critic loop is exercised with scripted teachers in tests.
Reasoning is step-wise: each request gets the next group of the round's plan (`plan`, from synth/causality.py),
so a call that needs a token or an ID comes after the result that shows it; after an injected transient error it
retries the failed step.
Requests use each tool's user-voice intent (synth/teachers/intents.py), not its doc sentence; reasoning says where
every argument comes from (the request, an earlier result, a step before it); closing replies describe the results
in prose. The fixed sentences below were written for this project.
"""

from __future__ import annotations

import json
import re
import zlib

from synth.teachers.intents import intent

OPENERS = [
    "Could you {body}?",
    "I need you to {body}.",
    "Please {body}.",
    "Can you {body}? Thanks.",
    "I'd like you to {body}.",
]
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


def arg_phrases(doc: dict | None, args: dict) -> dict[str, str]:
    """How a user would state each flag among `args`: the first sentence of the parameter's own description, with
    "yes"/"no" ("show hidden files and directories: yes"), where a bare "a True" would teach nothing a real request
    says (BFCL asks for "the hidden ones"). Other values are stated as they are (see _args_text)."""
    props = ((doc or {}).get("parameters") or {}).get("properties") or {}
    out = {}
    for key, value in args.items():
        description = (props.get(key) or {}).get("description") or ""
        first = description.split(". ")[0].strip().rstrip(".")
        if first.lower().startswith("if true, "):
            first = first[len("if true, ") :]
        if isinstance(value, bool) and first:
            out[key] = f"{first[:1].lower() + first[1:]}: {'yes' if value else 'no'}"
    return out


def _pick(options: list[str], key: str) -> str:
    return options[zlib.crc32(key.encode("utf-8")) % len(options)]


def _args_text(args: dict, phrases: dict[str, str] | None = None) -> str:
    phrases = phrases or {}
    return ", ".join(phrases.get(k) or f"{_words_of(k)} {v!r}" for k, v in args.items())


class TemplateTeacher:
    name = "template"

    async def generate(self, role: str, messages: list[dict], payload: dict) -> str:
        return json.dumps(getattr(self, f"_{role}")(payload), ensure_ascii=False)

    async def aclose(self) -> None:
        return None

    def _tooling(self, p: dict) -> dict:
        steps = [s for s in p["steps"] if s["described"]] or p["steps"]
        last = steps[-1]["name"]
        goals = "; ".join(s["phrase"] for s in steps)
        return {
            "name": f"{last}_workflow",
            "description": f"Completes the whole request in one call: {goals}.",
            "parameters": {i["param"]: {"type": type(i["value"]).__name__, "description": ""} for i in p["inputs"]},
            "returns": "The outcome of the request.",
        }

    def _querying(self, p: dict) -> dict:
        noise = p.get("noise", {})
        variant = noise.get("variant", 0)
        if p["mode"] == "supply":
            w = p["withhold"]
            return {"query": f"Sorry, I left that out: the {w['param'].replace('_', ' ')} is {w['value']!r}."}
        withheld = p.get("withhold") or {}
        clauses = []
        context = []
        for s in p["steps"]:
            args = {
                k: v
                for k, v in s["user_args"].items()
                if not withheld or (k != withheld["param"] and str(withheld["value"]) not in str(v))
            }
            said = _args_text(args, s.get("arg_phrases"))
            if p["mode"] == "forward" or s["described"]:
                clauses.append(f"{s['phrase']} ({said})" if args else s["phrase"])
            elif args:
                context.append(said)
        joiner = JOINERS[variant % len(JOINERS)] if noise.get("paraphrase") else JOINERS[0]
        body = joiner.join(_dedupe(clauses))
        if context:
            body += f" - you'll need {'; '.join(context)}"
        if p["mode"] == "forward":
            text = FORWARD_OPENERS[variant % len(FORWARD_OPENERS)].format(body="first " + body)
        else:
            opener = OPENERS[variant % len(OPENERS)] if noise.get("paraphrase") else OPENERS[0]
            text = opener.format(body=body, Body=body[:1].upper() + body[1:])
        if noise.get("distractor"):
            text = f"{DISTRACTORS[variant % len(DISTRACTORS)]} {text}"
        return {"query": text}

    def _reasoning(self, p: dict) -> dict:
        """The next step of the round's plan (synth/causality.py: a call that needs a value only a result shows
        waits for that result), a retry after a transient error, or done. The thought follows the chain: what
        each call is for and where each argument comes from (the request, what the conversation showed, the
        results just returned)."""
        gt, steps = p["ground_truth"], p.get("steps", [])
        plan = p.get("plan") or [list(range(len(gt)))]
        done = sum(1 for s in steps for r in s["results"] if not _is_error(r))
        if done >= len(gt):
            return {"think": _pick(DONE_LINES, p.get("query", "")), "calls": []}
        end = next(b[-1] + 1 for b in plan if b[-1] >= done)
        batch = gt[done:end]
        query = p.get("query", "")
        earlier = " ".join(" ".join(h.get("results", [])) + " " + h.get("user", "") for h in p.get("conversation", []))
        returned = " ".join(r for s in steps for r in s["results"])
        failed = [c["name"] for c, r in zip(steps[-1]["calls"], steps[-1]["results"]) if _is_error(r)] if steps else []
        if failed:
            names = " and ".join(f"`{n}`" for n in _dedupe(failed))
            lines = [f"{names} came back with a temporary error and did not go through; nothing changed, so I retry."]
        elif not steps:
            lines = [_pick(PLAN_OPENERS, query).format(n=len(gt), s="" if len(gt) == 1 else "s")]
        else:
            lines = [_pick(NEXT_LINES, query + str(done))]
        for i, call in enumerate(batch, done + 1):
            what = _third_person(p.get("phrases", {}).get(call["name"], call["name"]))
            sources = [_source(k, v, query, earlier, returned) for k, v in call["arguments"].items()]
            used = f" ({'; '.join(sources)})" if sources else ""
            lines.append(f"{i}. `{call['name']}` to {what}{used}.")
        if end < len(gt):
            lines.append("The rest needs what these return, so it waits for the results.")
        return {"think": "\n".join(lines), "calls": [{"name": c["name"], "arguments": c["arguments"]} for c in batch]}

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


def _words_of(key: str) -> str:
    """`fanSpeed` / `file_name` -> "fan speed" / "file name"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", key).replace("_", " ").lower()


def _is_error(result: str) -> bool:
    """An error answer in BFCL's shape (`{"error": ...}`): a verified phase-I result never is one."""
    return result.startswith('{"error": ')


def _source(param: str, value, query: str, earlier: str, returned: str) -> str:
    if isinstance(value, bool):  # a flag is always asked for in words ("show hidden files: yes"), never as True
        return f"{_words_of(param)} {value!r} as asked"
    forms = {json.dumps(value, ensure_ascii=False), repr(value), str(value)} - {""}
    where = (
        "from the request"
        if any(f in query for f in forms)
        else "from what we saw earlier"
        if any(f in earlier for f in forms)
        else "from what the calls so far returned"
        if any(f in returned for f in forms)
        else "my choice, nothing more specific was asked"
    )
    return f"{_words_of(param)} {value!r} {where}"


def _describe(name: str, result: str) -> str:
    """One sentence on one call's result: its fields in words (a few list items, the start of long text), never
    the raw JSON; "" for a result that says nothing (mkdir's None)."""
    try:
        value = json.loads(result)
    except (json.JSONDecodeError, TypeError):
        value = result
    if value in (None, "None", ""):
        return ""
    if not isinstance(value, dict):
        return f"The answer was {_short(value)}."
    parts = [f"{_words_of(k)}: {_short(v)}" for k, v in list(value.items())[:4]]
    more = f" (plus {len(value) - 4} more details)" if len(value) > 4 else ""
    text = "; ".join(parts)
    return f"{text[:1].upper()}{text[1:]}{more}."


def _short(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        value = value.rstrip(".")
        return value if len(value) <= 60 else value[:57].rstrip() + "..."
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        if not value:
            return "none"
        head = ", ".join(_short(v) for v in value[:3] if not isinstance(v, (dict, list)))
        more = f" (+{len(value) - 3} more)" if len(value) > 3 else ""
        return f"{head}{more}" if head else f"{len(value)} entries"
    if isinstance(value, dict):
        return f"{len(value)} entries"
    return str(value)
