"""Decode BFCL's JSON and XML return formats (format_sensitivity configs), as BFCL's `ast_parse` does, in linear time.

    from funreason.eval.json_xml_decode import decode_json, decode_verbose_xml, decode_concise_xml
    decode_json('[{"function": "f", "parameters": {"a": 1}}]')                       # [{"f": {"a": 1}}]
    decode_verbose_xml('<functions><function name="f"><params><param name="a" value="1" type="integer"/>'
                       '</params></function></functions>')                            # [{"f": {"a": 1}}]
    decode_concise_xml('<functions><function name="f"><param name="a" type="integer">1</param></function>'
                       '</functions>')                                                # [{"f": {"a": 1}}]

Each takes the text BFCL's `ast_parse` receives (already wrapped in `[...]` and taken out of a <TOOLCALL> tag by
`eval.ast_decode.decode_prompting`) and raises where BFCL's decoder raises (bfcl-eval 2026.3.23,
`model_handler/utils.py` `ast_parse`, `parser/json_parser.py`, `parser/xml_parser.py`):

- JSON: the text from the first `[` to the last `]`; in it, the first span BFCL's regex
  `\\[\\s*{.*?}\\s*(?:,\\s*{.*?}\\s*)*\\]` finds; `json.loads` (invalid JSON decodes to no calls); each object of the
  list becomes `{obj["function"]: obj["parameters"]}`, other items are skipped.
- XML: the text from the first `<functions>` to the next `</functions>`, parsed by `xml.etree`; each `<function
  name>` child gives `{name: {param: value}}` with values converted by their `type` attribute (integer, float,
  boolean, null; array/tuple/object/dict through `ast.literal_eval`, which reads literals and runs nothing).
  verbose: `<param name value type/>` (under `<params>` when there is one); concise: `<param name type>value</param>`.

Why not BFCL's regexes: that JSON regex backtracks exponentially (a 70-character output like `[{},{},...` without
a closing `]` takes BFCL's decoder hours), and the tag and XML searches are quadratic. `_json_list_span` finds the
same span with one right-to-left pass; tests/eval/test_format_sensitivity.py checks it against `re` on random text.
Expat (2.4.1 and later, as Python bundles it) refuses entity-expansion bombs, and xml.etree fetches nothing.
"""

from __future__ import annotations

import ast
import json
import xml.etree.ElementTree as ET


def find_between(text: str, start: str, end: str) -> tuple[int, int] | None:
    """Where `re.search(f"{start}(.*?){end}", text, re.DOTALL)` matches, in linear time: (index of `start`, index
    of `end`), i.e. the first `start` and the first `end` after it (a later `start` has no `end` after it either)."""
    i = text.find(start)
    j = text.find(end, i + len(start)) if i != -1 else -1
    return None if j == -1 else (i, j)


def _json_list_span(s: str) -> str | None:
    """What `re.search(r"\\[\\s*{.*?}\\s*(?:,\\s*{.*?}\\s*)*\\]", s, re.DOTALL)` matches, or None.

    Backtracking explores, from a `[`, each `}` that can close the first object in order; after a `}` (and
    spaces) a `]` ends the match at once, a `,` (and spaces and `{`) opens the next object, whose closing `}`
    candidates are explored in order again. So the end found from a `}` at c depends only on c: `end_from[i]` is
    the end found from the first `}` at or after i that leads to one. Computed right to left, it is linear."""
    n = len(s)
    skip = [n] * (n + 1)  # skip[i]: the first non-space index >= i (`\\s` is str.isspace)
    for i in range(n - 1, -1, -1):
        skip[i] = skip[i + 1] if s[i].isspace() else i
    end_from: list[int | None] = [None] * (n + 1)
    for c in range(n - 1, -1, -1):
        end = None
        if s[c] == "}":
            q = skip[c + 1]
            if q < n and s[q] == "]":
                end = q
            elif q < n and s[q] == ",":
                r = skip[q + 1]
                end = end_from[r + 1] if r < n and s[r] == "{" else None
        end_from[c] = end if end is not None else end_from[c + 1]
    for p in range(n):
        if s[p] == "[":
            r = skip[p + 1]
            if r < n and s[r] == "{" and end_from[r + 1] is not None:
                return s[p : end_from[r + 1] + 1]
    return None


def decode_json(text: str) -> list:
    """BFCL's `ReturnFormat.JSON` branch of `ast_parse` and `parse_json_function_call`."""
    i, j = text.find("["), text.rfind("]")
    if i != -1 and j > i:  # re.search(r"\[.*\]", text, re.DOTALL): the first `[` to the last `]`
        text = text[i : j + 1]
    text = _json_list_span(text) or text
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []  # BFCL: invalid JSON is no calls, not a decode failure
    return [{item["function"]: item["parameters"]} for item in data if isinstance(item, dict)]


def _convert(raw: str, type_str: str):
    """BFCL's `convert_value_by_type`."""
    if type_str == "string":
        return raw
    if type_str == "integer":
        return int(raw)
    if type_str == "float":
        return float(raw)
    if type_str == "boolean":
        return raw.lower() == "true"
    if type_str == "null":
        return None
    if type_str in ("array", "tuple", "object", "dict"):
        return ast.literal_eval(raw)
    return raw


def _functions(text: str) -> ET.Element:
    span = find_between(text, "<functions>", "</functions>")
    if span is None:
        raise ValueError(f"No XML function call found in input string: {text}. Missing <functions> tag.")
    return ET.fromstring(text[span[0] : span[1] + len("</functions>")])


def decode_verbose_xml(text: str) -> list[dict]:
    """BFCL's `ReturnFormat.VERBOSE_XML`: `parse_verbose_xml_function_call`."""
    calls = []
    for func in _functions(text).findall("function"):
        name = func.attrib["name"]
        container = func.find("params")
        args = {}
        for p in (container if container is not None else func).findall("param"):  # a nameless one: key None
            args[p.attrib.get("name")] = _convert(p.attrib.get("value", ""), p.attrib.get("type", "string"))
        calls.append({name: args})
    return calls


def decode_concise_xml(text: str) -> list[dict]:
    """BFCL's `ReturnFormat.CONCISE_XML`: `parse_concise_xml_function_call`."""
    calls = []
    for func in _functions(text).findall("function"):
        name = func.attrib["name"]
        args = {p.attrib["name"]: _convert((p.text or "").strip(), p.attrib.get("type", "string")) for p in func.findall("param")}  # fmt: skip
        calls.append({name: args})
    return calls
