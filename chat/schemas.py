"""Tool schemas: BFCL's function-doc dialect <-> JSON Schema in the OpenAI tool wrapper, losslessly.

    from funreason.chat.schemas import bfcl_to_json_schema, json_schema_to_bfcl, as_bfcl_docs
    tool = bfcl_to_json_schema(doc)          # {"type": "function", "function": {"name", "description", "parameters"}}
    assert json_schema_to_bfcl(tool) == doc  # holds for every BFCL multi-turn function doc
    docs = as_bfcl_docs(tools_or_docs)       # accept either form wherever tools are passed

BFCL's dialect: ``"type": "dict"`` for objects, ``float`` and ``tuple`` and ``any`` types, and a ``response``
schema next to ``parameters``. BFCL's own converter (`model_handler/utils.convert_to_tool`) is lossy (it appends
" This is a float type value." to descriptions and maps tuple/any to array/string); ours is not:

- types map to JSON Schema (dict->object, float->number, tuple->array, any->no ``type`` at all, ...); whenever the
  reverse map would not give the original name back (e.g. ``tuple``, ``number``, ``list``, ``any``) the original is
  kept under ``"x-bfcl-type"``;
- ``response`` is converted the same way and kept in the function object under ``"response"`` (pass
  ``keep_response=False`` for strict OpenAI-compatible servers that reject unknown keys);
- every other key (description, enum, default, required, ...) is copied as is; property *names* are never touched.
"""

from __future__ import annotations

import copy
from typing import Any

# BFCL type -> JSON Schema type (None: no "type" key, JSON Schema's "anything").
_TO_JSON = {
    "dict": "object",
    "object": "object",
    "float": "number",
    "number": "number",
    "double": "number",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "string": "string",
    "str": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "any": None,
    "null": "null",
}
# JSON Schema type -> BFCL type, the names BFCL's own docs use.
_TO_BFCL = {"object": "dict", "number": "float", "integer": "integer", "string": "string", "boolean": "boolean",
            "array": "array", "null": "null"}  # fmt: skip
_MARK = "x-bfcl-type"
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _walk(schema: Any, convert_node) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = convert_node(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _walk(sub, convert_node) for name, sub in out[key].items()}
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = _walk(out[key], convert_node)
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_walk(sub, convert_node) for sub in out[key]]
    return out


def _node_to_json(node: dict) -> dict:
    out = {}
    for key, value in node.items():
        if key != "type":
            out[key] = copy.deepcopy(value)
            continue
        if not isinstance(value, str) or value not in _TO_JSON:
            out[key] = copy.deepcopy(value)  # unknown or list-typed: leave it to the consumer
            continue
        json_type = _TO_JSON[value]
        if json_type is not None:
            out["type"] = json_type
        if json_type is None or _TO_BFCL[json_type] != value:  # no JSON type: only the mark remembers it
            out[_MARK] = value
    return out


def _node_to_bfcl(node: dict) -> dict:
    out = {}
    has_type = "type" in node
    for key, value in node.items():
        if key == _MARK:
            if not has_type:  # "any": JSON Schema has no type; put BFCL's back where the mark stands
                out["type"] = value
            continue
        if key == "type":
            if _MARK in node:
                out["type"] = node[_MARK]
            elif isinstance(value, str) and value in _TO_BFCL:
                out["type"] = _TO_BFCL[value]
            else:
                out["type"] = copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def bfcl_to_json_schema(doc: dict, keep_response: bool = True) -> dict:
    """One BFCL function doc -> an OpenAI tool dict."""
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise ValueError(f"a BFCL function doc needs a string 'name'; got {str(doc)[:200]!r}")
    fn = {}
    for key, value in doc.items():
        if key in ("parameters", "response"):
            if key == "response" and not keep_response:
                continue
            fn[key] = _walk(value, _node_to_json)
        else:
            fn[key] = copy.deepcopy(value)
    return {"type": "function", "function": fn}


def json_schema_to_bfcl(tool: dict) -> dict:
    """An OpenAI tool dict (or its bare ``function`` part) -> a BFCL function doc. Inverse of `bfcl_to_json_schema`."""
    fn = tool.get("function", tool) if isinstance(tool, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise ValueError(f"an OpenAI tool needs function.name; got {str(tool)[:200]!r}")
    return {
        key: _walk(value, _node_to_bfcl) if key in ("parameters", "response") else copy.deepcopy(value)
        for key, value in fn.items()
    }


def is_openai_tool(tool: Any) -> bool:
    return isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict)


def as_bfcl_docs(tools: list[dict] | None) -> list[dict]:
    """Accept BFCL docs or OpenAI tools (mixed is fine) and return BFCL docs; BFCL docs are returned unchanged."""
    return [json_schema_to_bfcl(t) if is_openai_tool(t) else t for t in (tools or [])]


def tool_names(tools: list[dict] | None) -> list[str]:
    return [doc.get("name") for doc in as_bfcl_docs(tools)]
