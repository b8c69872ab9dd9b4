"""RL tasks from synth records: one per user turn, environment restored by replay, prompt identical to eval's."""

from __future__ import annotations

import os

import pytest
from funreason.core.sections.chat import ChatOptions

INIT = {"GorillaFileSystem": {"root": {"alex": {"type": "directory", "contents": {}}}}}


@pytest.fixture(scope="module", autouse=True)
def bfcl_root(tmp_path_factory):
    os.environ.setdefault("BFCL_PROJECT_ROOT", str(tmp_path_factory.mktemp("bfcl_root")))


def call(name, **arguments):
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def two_turn_record() -> dict:
    from funreason.envs import bfcl

    docs = [d for d in bfcl.func_docs(["GorillaFileSystem"]) if d["name"] in ("mkdir", "cd", "touch")]
    return {
        "messages": [
            {"role": "user", "content": "Create a folder named reports."},
            {"role": "assistant", "content": "", "tool_calls": [call("mkdir", dir_name="reports")]},
            {"role": "tool", "name": "mkdir(dir_name='reports')", "content": "None"},
            {"role": "assistant", "content": "Done.", "reasoning_content": "The user wants a folder."},
            {"role": "user", "content": "Go into it and create a.txt."},
            {"role": "assistant", "content": "", "tool_calls": [call("cd", folder="reports")]},
            {"role": "tool", "name": "cd(folder='reports')", "content": '{"current_working_directory": "reports"}'},
            {"role": "assistant", "content": "", "tool_calls": [call("touch", file_name="a.txt")]},
            {"role": "tool", "name": "touch(file_name='a.txt')", "content": "None"},
            {"role": "assistant", "content": "Created."},
        ],
        "tools": docs,
        "metadata": {
            "involved_classes": ["GorillaFileSystem"],
            "initial_config": INIT,
            "long_context": False,
            "turns": [
                {"ground_truth": ["mkdir(dir_name='reports')"]},
                {"ground_truth": ["cd(folder='reports')", "touch(file_name='a.txt')"]},
            ],
        },
    }


def test_one_task_per_user_turn_with_replayed_environment():
    from funreason.envs.base import public_state
    from funreason.train.rl_tasks import RLTask, tasks_from_record

    first, second = tasks_from_record(two_turn_record(), where="row 0")
    assert [m["role"] for m in first.messages] == ["user"]
    assert second.messages == two_turn_record()["messages"][:5]  # earlier turn as recorded, up to this user turn
    assert second.history == [["mkdir(dir_name='reports')"]] and second.turn_index == 1
    # The environment the turn starts from has the earlier turn's folder; the expected one also has a.txt in it.
    instances, results = second.restore()
    fs = instances["GorillaFileSystem"]
    assert results == ["None"] and "reports" in fs.root.contents and not fs.root.contents["reports"].contents
    expected, gt_results = second.expected()
    assert "a.txt" in expected["GorillaFileSystem"].root.contents["reports"].contents
    assert gt_results == ['{"current_working_directory": "reports"}', "None"]
    # Fresh instances every time: restoring twice does not leak state.
    again, _ = second.restore()
    assert public_state(again["GorillaFileSystem"]) == public_state(fs)
    assert RLTask.from_json(second.to_json()) == second


def test_bad_records_name_the_row():
    from funreason.core.errors import UserError
    from funreason.train.rl_tasks import build_tasks

    broken = two_turn_record()
    broken["metadata"]["turns"].pop()
    with pytest.raises(UserError, match="dataset row 1: 2 user turns in 'messages' but 1"):
        build_tasks([two_turn_record(), broken])
    del broken["tools"]
    with pytest.raises(UserError, match="dataset row 0: missing key 'tools'"):
        build_tasks([broken])


@pytest.mark.parametrize(
    "options",
    [
        ChatOptions(tool_format="pythonic", history_reasoning="drop", think_prefill=True),
        ChatOptions(tool_format="hermes", history_reasoning="keep"),
    ],
    ids=["pythonic-prefill", "hermes-keep"],
)
def test_rl_prompt_tokens_equal_eval_prompt(tiny_tokenizer, options):
    """The rollout's prompt ids are eval's prompt for the same conversation prefix (invariant 1 of docs/design.md)."""
    from funreason.chat.render import render_prompt
    from funreason.chat.tools import offered_docs
    from funreason.train.rl_tasks import build_tasks
    from funreason.train.rollout import EnvRollout

    record = two_turn_record()
    offered = offered_docs(record["tools"])  # what eval's entries and SFT rows offer for these tools
    tasks = build_tasks([record])
    rollout = EnvRollout(tiny_tokenizer, options, max_tool_steps=2, max_completion_length=64)
    for task, cut in zip(tasks, (1, 5)):
        episode = rollout.start(task)
        # What eval's runner renders for this history: the recorded messages up to the user turn, the same tools.
        eval_ids = render_prompt(tiny_tokenizer, record["messages"][:cut], offered, options).ids
        assert episode.prompt_ids == eval_ids
        # ... and the SFT example of the next assistant message continues exactly these ids.
        from funreason.chat.render import render_example

        example = render_example(tiny_tokenizer, record["messages"][: cut + 1], offered, options)
        assert example.ids[: len(eval_ids)] == eval_ids and example.mask.index(1) == len(eval_ids)
