"""Format-sensitivity prompts: BFCL's 26 configs, and every case's messages as `bfcl generate` builds them.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_format_sensitivity.py

The reference is bfcl_eval itself: `get_all_format_sensitivity_configs`, `parse_prompt_variation_params`,
`format_function_doc`, and for all 5,200 cases `system_prompt_pre_processing_chat_model` over the entries its
generation loader gives (`load_dataset_entry("format_sensitivity")`, docs hinted twice).
"""

from __future__ import annotations

import copy
from dataclasses import astuple

import pytest
from funreason.chat import pythonic
from funreason.chat.doc_formats import DOC_FORMATS, format_docs
from funreason.chat.format_sensitivity import CONFIGS, DEFAULT_CONFIG, config_of, parse_config, system_prompt
from funreason.chat.single_turn import case_docs, case_messages
from funreason.chat.tools import PYTHON_HINT
from funreason.eval.format_sensitivity import load_cases

from tests import bfcl_official as official

# schema corners the listings treat specially: defaults (with commas), enums, items, nested and open objects
ODD_DOCS = [
    {
        "name": "geo.find",
        "description": "Find places.",
        "parameters": {
            "type": "dict",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}, "default": ["a, b", "c"], "description": "T"},
                "unit": {"type": "string", "enum": ["km", "mi"], "description": "U"},
                "box": {
                    "type": "dict",
                    "description": "B",
                    "properties": {"lat": {"type": "float", "description": "la"}, "lon": {"type": "float"}},
                    "required": ["lat"],
                },
                "weights": {"type": "dict", "additionalProperties": {"type": "integer"}, "description": "W"},
                "pairs": {"type": "tuple", "items": {"type": "array", "items": {"type": "integer"}}},
                "flag": {"type": "boolean", "default": False, "description": "F"},
                "anything": {"type": "any", "description": "A"},
            },
            "required": ["tags", "box"],
        },
    },
    {"name": "ping", "description": "No arguments.", "parameters": {"type": "dict", "properties": {}}},
    {"name": "all_required", "description": "No required list.", "parameters": {"properties": {"x": {}}}},
]


def test_configs_are_bfcls():
    assert list(CONFIGS) == official.get_all_format_sensitivity_configs() and len(CONFIGS) == 26
    assert DEFAULT_CONFIG == official.DEFAULT_SYSTEM_PROMPT_FORMAT and DEFAULT_CONFIG in CONFIGS
    for config in CONFIGS:
        assert astuple(parse_config(config)) == official.parse_prompt_variation_params(config)
    for bad in ("ret_fmt=yaml&tool_call_tag=True&func_doc_fmt=xml&prompt_fmt=plaintext&style=classic", ""):
        with pytest.raises(ValueError, match="Invalid query format"):
            official.parse_prompt_variation_params(bad)
        with pytest.raises(ValueError, match="Invalid query format"):
            parse_config(bad)
    assert config_of(f"format_sensitivity_3:{CONFIGS[3]}:live_simple_2-1-0") == CONFIGS[3]
    with pytest.raises(ValueError):
        config_of("simple_python_3")


@pytest.mark.parametrize("doc_format", DOC_FORMATS)
def test_doc_listings_are_bfcls(doc_format):
    assert format_docs(ODD_DOCS, doc_format) == official.format_function_doc(copy.deepcopy(ODD_DOCS), doc_format)


def test_every_config_prompt_is_bfcls_and_the_default_is_pythonics():
    for config in CONFIGS:
        assert system_prompt(config, ODD_DOCS) == official.formulate_system_prompt(config, copy.deepcopy(ODD_DOCS))
    assert pythonic.system_prompt(ODD_DOCS) == system_prompt(DEFAULT_CONFIG, ODD_DOCS)


def test_every_case_is_prompted_as_bfcl_generate_prompts_it():
    theirs = official.load_dataset_entry("format_sensitivity")
    ours = load_cases()
    assert list(ours) == [e["id"] for e in theirs] and len(ours) == 5200
    assert theirs[0]["function"][0]["description"].endswith(PYTHON_HINT * 2)  # BFCL's quirk, kept
    for entry in theirs:
        expected = official.system_prompt_pre_processing_chat_model(
            copy.deepcopy(entry["question"][0]), entry["function"], entry["id"]
        )
        assert case_messages(ours[entry["id"]]) == expected, entry["id"]


def test_extra_system_text_sits_between_bfcls_prompt_and_the_questions_own():
    cases = load_cases()
    with_system = next(c for c in cases.values() if c["question"][0][0]["role"] == "system")
    prompt = system_prompt(config_of(with_system["id"]), case_docs(with_system))
    own = with_system["question"][0][0]["content"]
    messages = case_messages(with_system, extra_system="Think first.")
    assert messages[0] == {"role": "system", "content": f"{prompt}\n\nThink first.\n\n{own}"}
    assert messages[1:] == with_system["question"][0][1:]
    without = next(c for c in cases.values() if c["question"][0][0]["role"] != "system")
    assert case_messages(without) == [{"role": "system", "content": system_prompt(config_of(without["id"]), case_docs(without))}, *without["question"][0]]  # fmt: skip
