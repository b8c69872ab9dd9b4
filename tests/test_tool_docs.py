"""One function decides the tool docs a prompt offers (chat/tools.py, invariant 7 of docs/design.md): SFT, RL and eval prompts
of the same tools carry the same system text, and eval's docs stay byte-identical to BFCL's own loader.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_tool_docs.py
"""

from __future__ import annotations

import json

import pytest
from funreason.chat.render import render_prompt
from funreason.chat.schemas import bfcl_to_json_schema
from funreason.chat.tools import PYTHON_HINT, offered_docs
from funreason.core.sections.chat import ChatOptions
from funreason.core.sections.train import DatasetSpec
from funreason.envs import bfcl
from funreason.envs.resolve import func_docs
from funreason.eval.tasks import load_tasks
from funreason.train.data import build_sft_dataset
from funreason.train.rl_tasks import tasks_from_record

ENTRY = "multi_turn_base_0"


def system_text(text: str) -> str:
    return text.split("<|im_start|>system\n", 1)[1].split("<|im_end|>", 1)[0]


def synth_record(classes: list[str]) -> dict:
    """A record as synthesis writes it: the classes' docs as the environment gives them (no hint)."""
    call = {"type": "function", "function": {"name": "pwd", "arguments": {}}}
    return {
        "messages": [
            {"role": "user", "content": "Where am I?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
        ],
        "tools": func_docs(classes),
        "metadata": {
            "involved_classes": classes,
            "initial_config": {},
            "long_context": False,
            "turns": [{"ground_truth": ["pwd()"]}],
        },
    }


def test_offered_docs_adds_bfcls_hint_once_and_never_mutates():
    import copy

    docs = func_docs(["GorillaFileSystem"])
    before = copy.deepcopy(docs)
    offered = offered_docs(docs)
    assert docs == before
    assert [d["description"] for d in offered] == [d["description"] + PYTHON_HINT for d in docs]
    assert offered_docs(offered) == offered  # hinted data (e.g. exported eval prompts) is not hinted twice
    assert offered_docs([bfcl_to_json_schema(d) for d in docs]) == offered  # OpenAI tools: the same docs
    assert offered_docs(None) is None and offered_docs([]) == []
    assert offered_docs([{"name": "f", "parameters": {}}]) == [
        {"name": "f", "parameters": {}, "description": PYTHON_HINT}
    ]


def test_hint_is_bfcls_own():
    bfcl.ensure_project_root()
    from bfcl_eval.utils import _get_language_specific_hint

    assert PYTHON_HINT == _get_language_specific_hint("multi_turn_base")


@pytest.mark.parametrize("category", bfcl.MULTI_TURN_CATEGORIES)
def test_eval_entries_equal_bfcls_loader(category):
    """Eval's `function` goes through offered_docs and still equals what BFCL's generation step builds, byte for
    byte; held-out docs stay without the hint, as BFCL announces them."""
    ours = load_tasks([category], limit=25).entries[category]
    theirs = bfcl.load_entries(category)[:25]
    assert [json.dumps(e) for e in ours] == [json.dumps(e) for e in theirs]


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_sft_rl_and_eval_prompts_offer_the_same_tool_docs(tiny_tokenizer, tmp_path, fmt):
    options = ChatOptions(tool_format=fmt)
    (entry,) = load_tasks(["base"], ids=[ENTRY]).all_entries()
    record = synth_record(entry["involved_classes"])
    eval_system = system_text(render_prompt(tiny_tokenizer, entry["question"][0], entry["function"], options).text)
    assert PYTHON_HINT in eval_system

    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps(record) + "\n")
    (ids,) = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(data))], options, progress=False)["input_ids"]
    assert system_text(tiny_tokenizer.decode(ids)) == eval_system

    (task,) = tasks_from_record(record)
    assert system_text(render_prompt(tiny_tokenizer, task.messages, task.tools, options).text) == eval_system
