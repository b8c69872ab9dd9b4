"""Function docs as BFCL's prompting system prompt lists them: JSON, Python docstrings or XML.

    from funreason.chat.doc_formats import DOC_FORMATS, format_docs
    format_docs(bfcl_docs, "json")     # json.dumps(docs, indent=4): the default prompt's "Available tools"
    format_docs(bfcl_docs, "python")   # "# Function: f\n    \"\"\"\n    desc\n\n    Args:\n        x (int): ...
    format_docs(bfcl_docs, "xml")      # '<function name="f">\n  <desc>desc</desc>\n  <params>\n    <param ...

Reproduces bfcl-eval 2026.3.23 `model_handler.utils.format_function_doc` (`_generate_function_doc_python`,
`_generate_function_doc_xml`) byte for byte, quirks included: the XML opening tag drops every comma, also those
inside a `default` value's repr; the Python listing joins its blocks with blank lines around a lone newline; a
parameter schema BFCL cannot read (e.g. `additionalProperties: true` in XML) raises as BFCL's does.
tests/chat/test_format_sensitivity.py compares every listing with BFCL's on its format-sensitivity entries.
"""

from __future__ import annotations

import json

DOC_FORMATS = ("python", "xml", "json")
_PY_TYPES = {"string": "str", "number": "float", "integer": "int", "boolean": "bool"}


def format_docs(functions: list[dict], doc_format: str) -> str:
    """The docs listed in `doc_format` (one of DOC_FORMATS)."""
    if doc_format == "json":
        return json.dumps(functions, indent=4)
    if doc_format == "python":
        return _python_docs(functions)
    if doc_format == "xml":
        return _xml_docs(functions)
    raise ValueError(f"Invalid function doc format: {doc_format}")


def _py_type(meta: dict) -> str:
    t = meta.get("type", "string")
    if t in _PY_TYPES:
        return _PY_TYPES[t]
    if t in {"array", "list", "tuple"} and "items" in meta:
        return f"list[{_py_type(meta['items'])}]"
    if t in {"object", "dict"}:
        return f"dict[str, {_py_type(meta['additionalProperties'])}]" if "additionalProperties" in meta else "dict"
    return t  # BFCL's fallback: the type name as written ("float", "any", ...)


def _py_param(name: str, meta: dict, depth: int = 0) -> list[str]:
    desc = meta.get("description", "")
    if "enum" in meta:
        desc += f" Enum values: {meta['enum']}."
    default = f", default={meta['default']!r}" if "default" in meta else ""
    lines = [f"{' ' * (8 + 4 * depth)}{name} ({_py_type(meta)}{default}): {desc}\n"]
    for child_name, child_meta in meta.get("properties", {}).items():
        lines += _py_param(child_name, child_meta, depth + 1)
    return lines


def _python_docs(functions: list[dict]) -> str:
    blocks = []
    for fn in functions:
        lines = [f"# Function: {fn['name']}\n", '    """\n', f"    {fn.get('description', '')}\n\n"]
        props = fn.get("parameters", {}).get("properties", {})
        if props:
            lines.append("    Args:\n")
            for name, meta in props.items():
                lines += _py_param(name, meta)
        lines.append('    """\n')
        blocks += ["".join(lines), "\n"]  # BFCL appends a lone "\n" after each block, then joins with "\n\n"
    return "\n\n".join(blocks)


def _xml_param(name: str, meta: dict, required: list[str] | None, level: int = 2) -> str:
    indent = " " * level * 2
    p_type = meta.get("type", "string")
    desc = meta.get("description", "")
    is_required = "true" if required is None or name in required else "false"  # no list: all required
    if "enum" in meta:
        desc += f" Enum values: {meta['enum']}."
    if "items" in meta and "type" in meta["items"]:
        p_type = f"{p_type}[{meta['items']['type']}]"
    elif "additionalProperties" in meta:
        p_type = f"{p_type}[{meta['additionalProperties'].get('type', 'string')}]"
    attrs = [f'name="{name}", type="{p_type}", required="{is_required}"']
    if "default" in meta:
        attrs.append(f'default="{meta["default"]!r}"')
    parts = [f"{indent}<param " + " ".join(attrs).replace(",", "") + ">\n", f"{indent}  <desc>{desc}</desc>\n"]
    if "properties" in meta:
        parts.append(f"{indent}  <params>\n")
        for child_name, child_meta in meta["properties"].items():
            parts.append(_xml_param(child_name, child_meta, meta.get("required"), level + 2))
        parts.append(f"{indent}  </params>\n")
    parts.append(f"{indent}</param>\n")
    return "".join(parts)


def _xml_docs(functions: list[dict]) -> str:
    blocks = []
    for fn in functions:
        schema = fn["parameters"]
        xml = f'<function name="{fn["name"]}">\n  <desc>{fn.get("description", "")}</desc>\n  <params>\n'
        for name, meta in schema.get("properties", {}).items():
            xml += _xml_param(name, meta, schema.get("required"))
        blocks.append(xml + "  </params>\n</function>\n")
    return "\n".join(blocks)
