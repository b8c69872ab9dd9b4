"""BFCL's single-turn prompts, per tool-call format, as `bfcl generate` builds them (for the eval runner).

    from funreason.chat.single_turn import case_messages, functions_for, messages_for, openai_tools
    docs = functions_for(entry)                 # entry["function"] + BFCL's language hint (Java/JS types as strings)
    messages = messages_for(entry, "pythonic")  # question[0] with BFCL's default prompting system prompt
    messages = messages_for(entry, "hermes")    # question[0] as is: the docs go into Qwen's <tools> block (raw)
    tools = openai_tools(docs)                  # fc: what BFCL's OpenAI FC handler sends as `tools=`
    messages = case_messages(case)              # a format_sensitivity case: its config's system prompt

Reproduces (bfcl-eval 2026.3.23): `utils._func_doc_language_specific_pre_processing` (the hint `chat.tools.PYTHON_HINT` /
"Java 8 SDK" / "JavaScript", and for Java/JavaScript every parameter
type rewritten to "string" with its real type in the description: the model must answer with source-code literals
in strings, which the checker parses back), `model_handler.utils.system_prompt_pre_processing_chat_model` with the
default format (`chat.pythonic.system_prompt`; a system message already in the question is appended after it,
joined by a blank line), and `convert_to_tool(docs, GORILLA_TO_OPENAPI, OPENAI_COMPLETIONS)` (dots in names become
underscores, "dict" -> "object", floats get " This is a float type value.", the tool wrapper). QwenFC passes the raw
docs to its template and adds no system prompt. A format_sensitivity case (id `format_sensitivity_<i>:<config>:<id>`,
prompting models only) gets the system prompt of its config (`chat.format_sensitivity`) over its docs as `bfcl
generate` loads them: through two loaders that each append the Python hint, so every description ends with the
hint twice (a BFCL quirk kept, since the leaderboard's prompts have it). Nothing here renders tokens: `chat.render`
does that.
"""

from __future__ import annotations

import copy
import json
import re

from funreason.chat import format_sensitivity, pythonic
from funreason.chat.tools import PYTHON_HINT, offered_docs

# bfcl_eval.constants.type_mappings.GORILLA_TO_OPENAPI
GORILLA_TO_OPENAPI = {
    "integer": "integer", "number": "number", "float": "number", "string": "string", "boolean": "boolean",
    "bool": "boolean", "array": "array", "list": "array", "dict": "object", "object": "object", "tuple": "array",
    "any": "string", "byte": "integer", "short": "integer", "long": "integer", "double": "number", "char": "string",
    "ArrayList": "array", "Array": "array", "HashMap": "object", "Hashtable": "object", "Queue": "array",
    "Stack": "array", "Any": "string", "String": "string", "Bigint": "integer",
}  # fmt: skip


def language_of(entry_id: str) -> str:
    """BFCL's `is_java` / `is_js` on an entry id's category."""
    category = entry_id.rsplit("_", 1)[0]
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


_HINT = {
    "java": " Note that the provided function is in Java 8 SDK syntax.",
    "javascript": " Note that the provided function is in JavaScript syntax.",
}


def functions_for(entry: dict) -> list[dict]:
    """`entry["function"]` as BFCL's generation step shows it to the model (a copy; the entry is not changed).
    Python docs go through `chat.tools.offered_docs`, the one function deciding the docs every prompt offers
    (invariant 7 of docs/design.md); Java and JavaScript, which only single-turn categories use, add their own hint and types."""
    functions = copy.deepcopy(entry.get("function") or [])
    language = language_of(entry["id"])
    if language == "python":
        return offered_docs(functions)
    name = {"java": "Java", "javascript": "JavaScript"}[language]
    for item in functions:
        item["description"] = item["description"] + _HINT[language]
        for value in item["parameters"]["properties"].values():
            if value["type"] == "any":
                value["description"] += f" This parameter can be of any type of {name} object in string representation."
            else:
                value["description"] += f" This is {name} {value['type']} type parameter in string representation."
            listy = ("ArrayList", "Array") if language == "java" else ("array",)
            if value["type"] in listy:
                value["description"] += (
                    f" The list elements are of type {value['items']['type']}; they are not in string representation."
                )
                del value["items"]
            if language == "javascript" and value["type"] == "dict" and "properties" in value:
                value["description"] += (
                    " The dictionary entries have the following schema; they are not in string representation. "
                    f"{json.dumps(value['properties'])}"
                )
                del value["properties"]
            value["type"] = "string"
    return functions


def messages_for(entry: dict, fmt: str) -> list[dict]:
    """The first (only) turn's messages as BFCL sends them in `fmt`; a copy."""
    messages = copy.deepcopy(entry["question"][0])
    if fmt != "pythonic":
        return messages  # FC handlers carry the docs outside the messages
    prompt = pythonic.system_prompt(functions_for(entry))
    if messages and messages[0]["role"] == "system":
        messages[0]["content"] = prompt + "\n\n" + messages[0]["content"]
    else:
        messages.insert(0, {"role": "system", "content": prompt})
    return messages


def case_docs(case: dict) -> list[dict]:
    """The docs `bfcl generate` shows for a format_sensitivity case: the hinted docs, hinted once more."""
    return [{**doc, "description": doc["description"] + PYTHON_HINT} for doc in functions_for(case)]


def case_messages(case: dict, extra_system: str | None = None) -> list[dict]:
    """A format_sensitivity case's first-turn messages: one system message holding its config's prompt, then
    `extra_system` (the recipe's chat.system_prompt, where the default pythonic prompt puts it too), then the
    question's own system message, joined by blank lines (BFCL's `system_prompt_pre_processing_chat_model`). Render
    them without tools: the docs are in the prompt already."""
    messages = copy.deepcopy(case["question"][0])
    parts = [format_sensitivity.system_prompt(format_sensitivity.config_of(case["id"]), case_docs(case))]
    parts += [extra_system] if extra_system else []
    if messages and messages[0]["role"] == "system":
        parts.append(messages.pop(0)["content"])
    return [{"role": "system", "content": "\n\n".join(parts)}, *messages]


def _cast(properties: dict) -> dict:
    """BFCL's `_cast_to_openai_type` with GORILLA_TO_OPENAPI, quirks included (one level of item types)."""
    mapping = GORILLA_TO_OPENAPI
    for key, value in properties.items():
        if "type" not in value:
            properties[key]["type"] = "string"
        else:
            var_type = value["type"]
            if var_type == "float":
                properties[key]["format"] = "float"
                properties[key]["description"] += " This is a float type value."
            properties[key]["type"] = mapping.get(var_type, "string")
        if properties[key]["type"] in ("array", "object"):
            if "properties" in properties[key]:
                properties[key]["properties"] = _cast(properties[key]["properties"])
            elif "items" in properties[key]:
                items = properties[key]["items"]
                items["type"] = mapping[items["type"]]
                if items["type"] == "array" and "items" in items:
                    items["items"]["type"] = mapping[items["items"]["type"]]
                elif items["type"] == "object" and "properties" in items:
                    items["properties"] = _cast(items["properties"])
    return properties


def openai_tools(functions: list[dict]) -> list[dict]:
    """`convert_to_tool(functions, GORILLA_TO_OPENAPI, ModelStyle.OPENAI_COMPLETIONS)`: BFCL's FC `tools=`."""
    tools = []
    for item in copy.deepcopy(functions):
        if "." in item["name"]:
            item["name"] = re.sub(r"\.", "_", item["name"])  # OpenAI-style names: ^[a-zA-Z0-9_-]{1,64}$
        item["parameters"]["type"] = "object"
        item["parameters"]["properties"] = _cast(item["parameters"]["properties"])
        tools.append({"type": "function", "function": item})
    return tools
