"""Seeded single-turn model outputs made from BFCL ground truth, as written text or FC layout, for parity tests.

    import random
    from tests.bfcl_ast_damage import model_output, prompting_output, relevance_output
    raw = model_output(entry, ground_truth, "pythonic", random.Random(0))   # str, or [{name: json}] for "fc"
    raw = prompting_output(entry, ground_truth, "verbose_xml", True, random.Random(0))  # a format-sensitivity answer

Each output picks allowed values from the ground truth, renders them in the category's language (Python literals,
Java or JavaScript source text in strings), then, most of the time, damages one thing: a value, a type, a name, a
parameter, the number or order of calls, or the whole output. Only literals are written: BFCL's prompting decoder
`eval`s arithmetic, so no test output holds any.

`prompting_output` writes what a format-sensitivity config asks for, as BFCL's decoders read it: Python calls,
`[{"function": name, "parameters": {...}}]` JSON, or `<functions><function name>` XML (verbose: `<param name value
type/>` under `<params>`; concise: `<param name type>value</param>`, types string / integer / float / boolean / null
/ array / tuple / dict, containers as Python literals), inside <TOOLCALL>...</TOOLCALL> when the config has the tag.
Besides the damages above it adds prose or a code fence around the calls, flips or doubles the tag, breaks the
markup (a missing key or name, a wrong type attribute), or answers in another return format.
"""

from __future__ import annotations

import copy
import json
from xml.sax.saxutils import escape, quoteattr

from funreason.chat import hermes
from funreason.chat.calls import ToolCall

from tests.bfcl_damage import _mutate_value

DAMAGES = [
    "none", "none", "other_value", "mutate_value", "drop_param", "extra_param", "wrong_name", "underscore_name",
    "drop_call", "duplicate_call", "shuffle", "retype", "case_punct", "text", "empty", "bad_syntax", "swap_function",
]  # fmt: skip


def _java_literal(value, typ: str, items: str | None) -> str:
    if isinstance(value, str) and typ not in ("String", "any", "char"):
        return value  # a variable name where the answer is a name
    if typ == "boolean":
        return "true" if value else "false"
    if typ == "long":
        return f"{value}L"
    if typ == "float":
        return f"{value}f"
    if typ in ("Array", "ArrayList") and isinstance(value, list):
        elems = ", ".join(
            _java_literal(v, items or "any", None) if not isinstance(v, str) else json.dumps(v) for v in value
        )
        return f"new {items or 'Object'}[]{{{elems}}}" if typ == "Array" else f"new ArrayList<>(Arrays.asList({elems}))"
    if typ == "HashMap" and isinstance(value, dict):
        puts = " ".join(
            f"put({json.dumps(k)}, {json.dumps(v) if isinstance(v, str) else v});" for k, v in value.items()
        )
        return f"new HashMap<String, String>() {{{{ {puts} }}}}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _js_literal(value, typ: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) if isinstance(v, str) else _js_literal(v, "any") for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {json.dumps(v) if isinstance(v, str) else _js_literal(v, 'any')}" for k, v in value.items()) + "}"  # fmt: skip
    return str(value)


def _pick(allowed: list, rng):
    concrete = [v for v in allowed if v != ""]
    if "" in allowed and (not concrete or rng.random() < 0.3):
        return None  # optional: leave it out
    return copy.deepcopy(rng.choice(concrete)) if concrete else None


def _dict_answer(value):
    # a dict parameter's answer is {key: [allowed]}: pick the first allowed value of each key
    if isinstance(value, dict):
        return {k: (v[0] if isinstance(v, list) and v and v[0] != "" else v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [_dict_answer(x) for x in value]
    return value


def _calls(entry: dict, ground_truth: list[dict], rng) -> list[tuple[str, dict]]:
    out = []
    for expected in ground_truth:
        name, params = next(iter(expected.items()))
        args = {}
        for param, allowed in params.items():
            value = _pick(allowed, rng)
            if value is not None:
                args[param] = _dict_answer(value)
        out.append((name, args))
    return out


def _xml_typed(value) -> tuple[str, str]:
    """(type attribute, text) of a value as BFCL's XML decoders convert it back."""
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if value is None:
        return "null", ""
    kinds = {int: "integer", float: "float", str: "string", list: "array", tuple: "tuple", dict: "dict"}
    kind = next(k for t, k in kinds.items() if isinstance(value, t))
    return kind, value if kind == "string" else repr(value)


def _markup(calls: list[tuple[str, dict]], return_format: str, rng) -> str:
    if return_format == "json":
        listed = [{"function": name, "parameters": args} for name, args in calls]
        return json.dumps(listed, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
    functions = []
    for name, args in calls:
        params = []
        for key, value in args.items():
            kind, text = _xml_typed(value)
            if return_format == "verbose_xml":
                params.append(f'<param name={quoteattr(key)} value={quoteattr(text)} type="{kind}"/>')
            else:
                params.append(f'<param name={quoteattr(key)} type="{kind}">{escape(text)}</param>')
        body = "".join(params)
        functions.append(f"<function name={quoteattr(name)}>{f'<params>{body}</params>' if return_format == 'verbose_xml' else body}</function>")  # fmt: skip
    return "<functions>" + rng.choice(["", "\n"]).join(functions) + "</functions>"


def _render(
    calls: list[tuple[str, dict]],
    entry: dict,
    fmt: str,
    language: str,
    raw_values: bool = False,
    return_format: str = "python",
    rng=None,
):
    props = {f["name"]: f["parameters"]["properties"] for f in entry["function"]}
    if language != "python" and not raw_values:  # JSON formats may carry raw values: BFCL wants strings there
        rendered = []
        for name, args in calls:
            p = props.get(name, {})
            text = {}
            for k, v in args.items():
                typ = p.get(k, {}).get("type", "any")
                if language == "java":
                    text[k] = _java_literal(v, typ, p.get(k, {}).get("items", {}).get("type"))
                else:
                    text[k] = v if isinstance(v, str) and typ in ("String", "any") else _js_literal(v, typ)
            rendered.append((name, text))
        calls = rendered
    if fmt == "fc":
        return [{name: json.dumps(args)} for name, args in calls]
    if fmt == "hermes":
        return hermes.render_calls([ToolCall(name, args) for name, args in calls])
    if return_format != "python":
        return _markup(calls, return_format, rng)
    if language == "python":
        return "[" + ", ".join(ToolCall(name, args).to_python(style="literal") for name, args in calls) + "]"
    # Java / JavaScript source: string values are written as double-quoted literals
    parts = [f"{name}({', '.join(f'{k}={json.dumps(v)}' for k, v in args.items())})" for name, args in calls]
    return "[" + ", ".join(parts) + "]"


def model_output(
    entry: dict,
    ground_truth: list[dict],
    fmt: str,
    rng,
    language: str = "python",
    kind: str | None = None,
    return_format: str = "python",
):
    """One seeded (possibly damaged) output for an AST entry, in `fmt` (pythonic: in `return_format`)."""
    kind = kind or rng.choice(DAMAGES)
    calls = _calls(entry, ground_truth, rng)
    names = [f["name"] for f in entry["function"]]
    if kind == "text":
        return rng.choice(["I cannot help with that.", "The answer is 42.", "Error during inference: timeout"])
    if kind == "empty":
        return rng.choice(["", "[]"]) if fmt != "fc" else rng.choice(["", []])
    if kind == "bad_syntax" and fmt != "fc":
        text = _render(calls, entry, fmt, language, return_format=return_format, rng=rng)
        return text[: max(1, len(text) // 2)] if isinstance(text, str) else text
    if calls:
        i = rng.randrange(len(calls))
        name, args = calls[i]
        if kind == "other_value" or kind == "mutate_value":
            if args:
                k = rng.choice(list(args))
                args[k] = _mutate_value(args[k], rng) if kind == "mutate_value" else copy.deepcopy(args[k])
        elif kind == "drop_param" and args:
            args.pop(rng.choice(list(args)))
        elif kind == "extra_param":
            args[rng.choice(["unit", "verbose", "extra"])] = rng.choice([1, "x", True])
        elif kind == "wrong_name":
            calls[i] = (name + rng.choice(["_v2", "x"]), args)
        elif kind == "underscore_name":
            calls[i] = (name.replace(".", "_"), args)
        elif kind == "swap_function" and len(names) > 1:
            calls[i] = (rng.choice([n for n in names if n != name]), args)
        elif kind == "drop_call":
            calls.pop(i)
        elif kind == "duplicate_call":
            calls.insert(i, copy.deepcopy(calls[i]))
        elif kind == "shuffle":
            rng.shuffle(calls)
        elif kind == "retype" and args:
            k = rng.choice(list(args))
            v = args[k]
            args[k] = (
                str(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                else float(v) if isinstance(v, int) and not isinstance(v, bool)
                else tuple(v) if isinstance(v, list) else [v]
            )  # fmt: skip
        elif kind == "case_punct" and args:
            k = rng.choice(list(args))
            if isinstance(args[k], str):
                args[k] = rng.choice([args[k].upper(), args[k].replace(" ", "_"), args[k] + ".", " " + args[k]])
    if fmt == "fc" and kind != "underscore_name":  # API FC models answer "math_factorial" for "math.factorial"
        calls = [(name.replace(".", "_"), args) for name, args in calls]
    return _render(calls, entry, fmt, language, kind == "retype" and fmt != "pythonic", return_format, rng)


RETURN_FORMATS = ("python", "json", "verbose_xml", "concise_xml")
PROMPTING_DAMAGES = [*DAMAGES, "prose", "fenced", "tag_flip", "two_tags", "bad_markup", "bad_markup", "other_format"]
_BREAKS = {
    "python": [("=", ": "), ("(", " ("), ("[", "[[")],
    "json": [('"function"', '"name"'), ('"parameters"', '"arguments"'), ('"parameters": {', '"parameters": "{'),
             ('"parameters": ', '"parameters": null, "arguments": ')],
    "verbose_xml": [("<function name=", "<function id="), ('type="string"', 'type="integer"'),
                    ('type="array"', 'type="string"'), ("</functions>", "</function>"), ("<params>", "<args>")],
    "concise_xml": [('<param name="', '<param key="'), ('type="string"', 'type="float"'),
                    ('type="integer"', 'type="string"'), ("<functions>", "<function>"), ('"/>', '">')],
}  # fmt: skip


def prompting_output(
    entry: dict, ground_truth: list[dict], return_format: str, tool_call_tag: bool, rng, kind: str | None = None
) -> str:
    """One seeded (possibly damaged) answer to a format-sensitivity config: calls in `return_format`, inside
    <TOOLCALL> tags when `tool_call_tag` (see the module docstring)."""
    kind = kind or rng.choice(PROMPTING_DAMAGES)
    written = rng.choice([f for f in RETURN_FORMATS if f != return_format]) if kind == "other_format" else return_format
    text = model_output(entry, ground_truth, "pythonic", rng, kind=kind if kind in DAMAGES else "none", return_format=written)  # fmt: skip
    if kind == "bad_markup":
        old, new = rng.choice([b for b in _BREAKS[written] if b[0] in text] or [("", "")])
        text = text.replace(old, new, 1) if old else text[:-1]
    elif kind == "prose":
        text = f"{rng.choice(['Sure!', 'Here are the calls:'])}\n{text}\n{rng.choice(['Done.', ''])}"
    elif kind == "fenced":
        text = f"```{'xml' if 'xml' in written else written}\n{text}\n```"
    if tool_call_tag != (kind == "tag_flip") and kind != "text":
        text = rng.choice(["", "\n", "Calling: "]) + f"<TOOLCALL>{rng.choice(['', ' ', chr(10)])}{text}</TOOLCALL>"
        if kind == "two_tags":  # only the first block counts
            text = rng.choice([f"<TOOLCALL>[]</TOOLCALL>\n{text}", f"{text}\n<TOOLCALL>oops</TOOLCALL>"])
    return text


def relevance_output(entry: dict, fmt: str, rng):
    """An output for a relevance / irrelevance entry: a call to one of its functions, text, or nothing."""
    kind = rng.choice(["call", "call", "text", "empty", "bad_syntax", "not_call"])
    if kind == "text":
        return rng.choice(["None of the functions can be used.", "I need more information: which city?"])
    if kind == "empty":
        return rng.choice(["", "[]"]) if fmt != "fc" else rng.choice(["", []])
    if kind == "not_call" and fmt == "pythonic":
        return rng.choice(["[1, 2]", "hello", "[{}]"])
    fn = rng.choice(entry["function"] or [{"name": "get_weather", "parameters": {"properties": {"city": {}}}}])
    args = {}
    for k, p in list(fn["parameters"]["properties"].items())[:3]:
        args[k] = {"integer": 1, "float": 1.5, "boolean": True, "array": ["a"], "dict": {"a": 1}}.get(
            p.get("type"), "x"
        )
    out = _render([(fn["name"], args)], entry, fmt, "python")
    if kind == "bad_syntax" and isinstance(out, str):
        return out[: max(1, len(out) // 2)]
    return out
