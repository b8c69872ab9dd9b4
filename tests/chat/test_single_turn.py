"""BFCL's single-turn prompts per format: docs with the language hint, the prompting system prompt, FC tools.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_single_turn.py
"""

from __future__ import annotations

import copy

import pytest
from funreason.chat.single_turn import GORILLA_TO_OPENAPI, functions_for, messages_for, openai_tools
from funreason.eval.single_turn import CATEGORIES, load_category

from tests import bfcl_official as official


def test_type_table_is_bfcls():
    assert GORILLA_TO_OPENAPI == official.GORILLA_TO_OPENAPI


@pytest.mark.parametrize("category", CATEGORIES)
def test_prompts_equal_bfcl_generation(category):
    entries, _ = load_category(category)  # the file as is, no hint
    theirs = {e["id"]: e for e in official.load_dataset_entry(category, include_language_specific_hint=True)}
    assert set(theirs) == set(entries)
    pristine = copy.deepcopy(entries)
    raised = 0
    for entry_id, entry in entries.items():
        docs = functions_for(entry)
        assert docs == theirs[entry_id]["function"], entry_id
        assert entry == pristine[entry_id]  # the entry itself is not modified
        expected = official.system_prompt_pre_processing_chat_model(
            copy.deepcopy(entry["question"][0]), theirs[entry_id]["function"], entry_id
        )
        assert messages_for(entry, "pythonic") == expected, entry_id
        assert messages_for(entry, "hermes") == entry["question"][0]
        try:
            tools = official.convert_to_tool(docs, official.GORILLA_TO_OPENAPI, official.ModelStyle.OPENAI_COMPLETIONS)
        except (KeyError, TypeError):  # docs BFCL's converter cannot handle fail for us too
            raised += 1
            with pytest.raises((KeyError, TypeError)):
                openai_tools(docs)
            continue
        assert openai_tools(docs) == tools, entry_id
    assert raised < len(entries) // 10
