"""`template`: a deterministic, offline teacher that writes every agent's JSON from the structured payload.

    from synth.teachers.template import TemplateTeacher
    teacher = TemplateTeacher()
    text = await teacher.generate("querying", messages, payload)   # '{"query": "..."}'

It is the baseline for ablations and what tests and the demo use: no model, no network, no randomness of its own
(variation comes from the payload, which the trajectory's seeded RNG filled). Outputs are labelled: the teacher's
name, "template", is recorded in every trajectory's metadata. Its reasoning answers with the executed ground truth,
so with it phase III passes on the first attempt; the critic loop is exercised with scripted teachers in tests.
Phrases come from the tools' own descriptions, and the fixed sentences below were written for this project.
"""

from __future__ import annotations

import json
import zlib

OPENERS = [
    "Please take care of the following for me: {body}.",
    "I need a hand with this: {body}.",
    "Could you sort this out? {Body}.",
    "Here is what I'm after: {body}.",
]
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
    """First sentence of a tool's own description (BFCL prefixes it with the class blurb + 'Tool description:')."""
    text = (doc or {}).get("description") or name.replace("_", " ")
    text = text.split("Tool description:")[-1].strip()
    first = text.split(". ")[0].strip().rstrip(".")
    return first[:1].lower() + first[1:] if first else name


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
    return ", ".join(phrases.get(k) or f"{k.replace('_', ' ')} {v!r}" for k, v in args.items())


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
        joiner = "; then " if p["mode"] == "forward" else "; "
        body = joiner.join(clauses)
        if context:
            body += f" - for this, use {'; '.join(context)}"
        if p["mode"] == "forward":
            text = FORWARD_OPENERS[variant % len(FORWARD_OPENERS)].format(body="first " + body)
        else:
            opener = OPENERS[variant % len(OPENERS)] if noise.get("paraphrase") else OPENERS[0]
            text = opener.format(body=body, Body=body[:1].upper() + body[1:])
        if noise.get("distractor"):
            text = f"{DISTRACTORS[variant % len(DISTRACTORS)]} {text}"
        return {"query": text}

    def _reasoning(self, p: dict) -> dict:
        gt = p["ground_truth"]
        lines = [f"The request needs {len(gt)} tool call(s); I work out each one from the available tools."]
        for i, call in enumerate(gt, 1):
            what = p.get("phrases", {}).get(call["name"], call["name"])
            args = f" with {_args_text(call['arguments'])}" if call["arguments"] else ""
            lines.append(f"{i}. `{call['name']}` to {what}{args}.")
        lines.append("Each step only depends on the ones before it, so I issue them in this order.")
        return {"think": "\n".join(lines), "calls": [{"name": c["name"], "arguments": c["arguments"]} for c in gt]}

    def _critic(self, p: dict) -> dict:
        verdict = p.get("verdict", {})
        expected, got = len(p.get("ground_truth", [])), len(p.get("attempt", []))
        if verdict.get("error_type", "").endswith("state_mismatch"):
            field = next(iter(verdict.get("details", {}).get("differences", {}) or {"state": 0}))
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
        shown = [r if len(r) <= 160 else r[:157] + "..." for r in p.get("results", [])]
        return {
            "think": f"All {len(shown)} call(s) succeeded; I summarize the results.",
            "reply": _pick(SUMMARY_OPENERS, p.get("query", "")) + " " + " | ".join(shown),
        }
