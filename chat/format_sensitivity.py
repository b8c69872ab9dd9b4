"""BFCL's prompting system prompt in each of its format-sensitivity configs (the default prompt is one of them).

    from funreason.chat.format_sensitivity import CONFIGS, DEFAULT_CONFIG, config_of, parse_config, system_prompt
    CONFIGS[0]                       # "ret_fmt=python&tool_call_tag=True&func_doc_fmt=python&prompt_fmt=plaintext&..."
    parse_config(CONFIGS[0])         # PromptConfig(return_format="python", tool_call_tag=True, doc_format="python", ...)
    system_prompt(CONFIGS[3], docs)  # BFCL's formulate_system_prompt(CONFIGS[3], docs), byte for byte
    system_prompt(DEFAULT_CONFIG, docs)  # the default prompting prompt (chat.pythonic.system_prompt)
    config_of("format_sensitivity_7:ret_fmt=json&...:simple_python_19")  # "ret_fmt=json&..."

Reproduces bfcl-eval 2026.3.23: `utils.get_all_format_sensitivity_configs` (4 return formats x tool-call tag on/off
x 3 doc formats, plain text, classic style = 24 configs, then one markdown and one "experimental" style config),
`model_handler.utils.parse_prompt_variation_params` and `formulate_system_prompt` with the templates of
`constants/default_prompts.py`. A case's id names its config: `format_sensitivity_<i>:<config>:<original id>`. A
case's messages are `chat.single_turn.case_messages`'s. tests/chat/test_format_sensitivity.py compares every
config's prompt with BFCL's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from funreason.chat.doc_formats import format_docs
from funreason.chat.schemas import as_bfcl_docs

RETURN_FORMATS = ("python", "json", "verbose_xml", "concise_xml")
CONFIGS = tuple(
    f"ret_fmt={ret}&tool_call_tag={tag}&func_doc_fmt={doc}&prompt_fmt=plaintext&style=classic"
    for ret in RETURN_FORMATS
    for tag in ("True", "False")
    for doc in ("python", "xml", "json")
) + (
    "ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&prompt_fmt=markdown&style=classic",
    "ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&prompt_fmt=plaintext&style=experimental",
)
DEFAULT_CONFIG = "ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&prompt_fmt=plaintext&style=classic"
_CONFIG_RE = re.compile(
    r"^ret_fmt=(python|json|verbose_xml|concise_xml)&tool_call_tag=(True|False)&func_doc_fmt=(python|xml|json)"
    r"&prompt_fmt=(plaintext|markdown)&style=(classic|experimental)$"
)

# constants/default_prompts.py
_OUTPUT_FORMAT = {
    "python": "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]",
    "json": '```json\n[{"function":"func_name1","parameters":{"param1":"value1","param2":"value2"...}},'
    '{"function":"func_name2","parameters":{"param":"value"}}]\n```',
    "verbose_xml": '<functions><function name="func_name1"><params><param name="param1" value="value1" '
    'type="type1"/><param name="param2" value="value2" type="type2"/>...</params></function><function '
    'name="func_name2"><params><param name="param3" value="value3" type="type3"/></params></function></functions>',
    "concise_xml": '<functions><function name="func_name1"><param name="param1" type="type1">value1</param><param '
    'name="param2" type="type2">value2</param>...</function><function name="func_name2"><param name="param3" '
    'type="type3">value</param></function></functions>',
}
_XML_TYPES = (
    "The type fields of the parameters in your function calls must be one of: string, integer, float, boolean, "
    "array, dict, or tuple."
)
_PARAM_TYPES = {"python": "", "json": "", "verbose_xml": _XML_TYPES, "concise_xml": _XML_TYPES}
_STYLES = {
    "classic": {
        "persona": "You are an expert in composing functions.",
        "task": "You are given a question and a set of possible functions. Based on the question, you will need to "
        "make one or more function/tool calls to achieve the purpose. If none of the functions can be used, point it "
        "out. If the given question lacks the parameters required by the function, also point it out.",
        "tool_call_no_tag": "You should only return the function calls in your response.\n\nIf you decide to invoke "
        "any of the function(s), you MUST put it in the format of {output_format}. {param_types} You SHOULD NOT "
        "include any other text in the response.",
        "tool_call_with_tag": "You should only return the function calls in the <TOOLCALL> section. If you decide "
        "to invoke any of the function(s), you MUST put it in the format of <TOOLCALL>{output_format}</TOOLCALL>. "
        "{param_types} You SHOULD NOT include any other text in the response.",
        "multiturn_behavior": "At each turn, you should try your best to complete the tasks requested by the user "
        "within the current turn. Continue to output functions to call until you have fulfilled the user's request "
        "to the best of your ability. Once you have no more functions to call, the system will consider the current "
        "turn complete and proceed to the next turn or task.",
        "available_tools": "Here is a list of functions in {format} format that you can invoke.\n{functions}\n",
    },
    "experimental": {
        "persona": "You are an expert in generating structured function calls.",
        "task": "You are given a user query and a set of available functions. Your task is to produce one or more "
        "function/tool calls to fulfill the user's request. If no suitable function exists, or required parameters "
        "are missing, clearly indicate this.",
        "tool_call_no_tag": "Respond with only the function calls.\n\nYou MUST format it exactly as {output_format}. "
        "{param_types} Do NOT include any other text.",
        "tool_call_with_tag": "Return only the function calls enclosed in <TOOLCALL> tags.\n\nYou MUST format it "
        "exactly as <TOOLCALL>{output_format}</TOOLCALL>. {param_types} Do NOT include any other text.",
        "multiturn_behavior": "At every turn, aim to complete the user's tasks within that turn. Continue emitting "
        "function calls until the request is satisfied to the best of your ability. Once no more calls are needed, "
        "the system will proceed to the next turn.",
        "available_tools": "Below is a list of callable functions in the {format} style:\n{functions}\n",
    },
}
_LAYOUTS = {
    "plaintext": "{persona}{task}\n\n{tool_call_format}\n\n{multiturn_behavior}\n\n{available_tools}",
    "markdown": "{persona}\n\n## Task\n{task}\n\n## Tool Call Format\n{tool_call_format}\n\n## Multi-turn Behavior\n"
    "{multiturn_behavior}\n\n## Available Tools\n{available_tools}",
}


@dataclass(frozen=True)
class PromptConfig:
    return_format: str  # python | json | verbose_xml | concise_xml: how the model is told to write its calls
    tool_call_tag: bool  # the calls sit inside <TOOLCALL>...</TOOLCALL>
    doc_format: str  # python | xml | json: how the function docs are listed
    prompt_format: str  # plaintext | markdown
    style: str  # classic | experimental


def parse_config(config: str) -> PromptConfig:
    """BFCL's `parse_prompt_variation_params`; ValueError on anything else."""
    m = _CONFIG_RE.match(config)
    if not m:
        raise ValueError(f"Invalid query format: {config!r}")
    ret, tag, doc, layout, style = m.groups()
    return PromptConfig(ret, tag == "True", doc, layout, style)


def config_of(case_id: str) -> str:
    """The config a case id names (`format_sensitivity_<i>:<config>:<original id>`)."""
    parts = case_id.split(":")
    if len(parts) != 3:
        raise ValueError(f"{case_id!r} is not a format-sensitivity id (format_sensitivity_<i>:<config>:<id>)")
    return parts[1]


def system_prompt(config: str, functions: list[dict]) -> str:
    """BFCL's system prompt for `config` over these function docs (BFCL docs or OpenAI tools)."""
    c = parse_config(config)
    style = _STYLES[c.style]
    tool_call = style["tool_call_with_tag" if c.tool_call_tag else "tool_call_no_tag"].format(
        output_format=_OUTPUT_FORMAT[c.return_format], param_types=_PARAM_TYPES[c.return_format]
    )
    docs = format_docs(as_bfcl_docs(functions), c.doc_format)
    tools = style["available_tools"].format(format=c.doc_format, functions=docs)
    return _LAYOUTS[c.prompt_format].format(
        persona=style["persona"], task=style["task"], tool_call_format=tool_call,
        multiturn_behavior=style["multiturn_behavior"], available_tools=tools,
    )  # fmt: skip
