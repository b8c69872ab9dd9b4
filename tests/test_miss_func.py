"""Missing function as BFCL tests it: SFT examples, RL tasks and eval render a miss_func conversation token for token.

A synth record (and a hand-built one) with `metadata.missed_function` is turned into the equivalent BFCL-format
question (the adding turn empty, `missed_function` naming the held tools) and loaded by eval's own loader; eval's
`LockstepRunner` then replays the record's assistant messages as scripted replies, executing the calls in fresh
backends. Every prompt eval generates from must equal the SFT example's prompt (its ids up to the trained turn)
and, at each turn's first step, the RL task's prompt (`EnvRollout.start`), in pythonic and in hermes with both
holdout modes; no prompt before the adding turn shows the held-out tool's doc.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_miss_func.py
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from funreason.chat.calls import ToolCall
from funreason.chat.formats import tool_format
from funreason.chat.holdout import HOLDOUT_FC, HOLDOUT_PROMPTING, HoldoutError, holdout_conversation
from funreason.core.sections.chat import ChatOptions
from funreason.envs.dispatch import Dispatcher
from funreason.envs.resolve import func_docs, resolve_env
from funreason.eval.backends import ScriptedBackend
from funreason.eval.runner import LockstepRunner
from funreason.eval.tasks import load_tasks
from funreason.train.data import iter_examples, new_report
from funreason.train.rl_tasks import tasks_from_record
from funreason.train.rollout import EnvRollout

from tests.synth_configs import quiet_config

CASES = {
    "pythonic": ChatOptions(tool_format="pythonic"),
    "hermes-tools": ChatOptions(tool_format="hermes", hermes_holdout="tools"),
    "hermes-message": ChatOptions(tool_format="hermes", hermes_holdout="message"),
}


# --- records --------------------------------------------------------------------------------------------------
def hand_record() -> dict:
    """GorillaFileSystem: list, then a sort the tools cannot do, then BFCL's holdout turn adds `sort` and it runs."""
    config = {
        "GorillaFileSystem": {
            "root": {
                "alex": {
                    "type": "directory",
                    "contents": {"notes.txt": {"type": "file", "content": "pear\napple\nfig"}},
                }
            }
        }
    }
    instances = resolve_env(["GorillaFileSystem"]).make_instances(config)
    run = Dispatcher(instances).execute_all

    def calls(*cs: ToolCall) -> list[dict]:
        results = run(list(cs))
        call_msg = {"role": "assistant", "content": "", "tool_calls": [c.to_message() for c in cs]}
        return [call_msg] + [{"role": "tool", "name": c.name, "content": r} for c, r in zip(cs, results)]

    messages = [
        {"role": "user", "content": "What is in my folder?"},
        *calls(ToolCall("ls", {})),
        {"role": "assistant", "content": "There is notes.txt."},
        {"role": "user", "content": "Put the lines of notes.txt in order."},
        {"role": "assistant", "content": "I can't do that with the tools I have right now."},
        {"role": "user", "content": HOLDOUT_FC},
        *calls(ToolCall("sort", {"file_name": "notes.txt"})),
        {"role": "assistant", "content": "Sorted: apple, fig, pear."},
        {"role": "user", "content": "How many lines does it have?"},
        *calls(ToolCall("wc", {"file_name": "notes.txt", "mode": "l"})),
        {"role": "assistant", "content": "Three lines."},
    ]
    turns = [{"ground_truth": ["ls()"]}, {"ground_truth": []}, {"ground_truth": ["sort(file_name='notes.txt')"]}]
    turns.append({"ground_truth": ["wc(file_name='notes.txt', mode='l')"]})
    metadata = {
        "environment_refs": ["GorillaFileSystem"],
        "involved_classes": ["GorillaFileSystem"],
        "initial_config": config,
        "long_context": False,
        "turns": turns,
        "missed_function": {"2": ["sort"]},
    }
    return {"id": "hand_0", "messages": messages, "tools": func_docs(["GorillaFileSystem"]), "metadata": metadata}


@pytest.fixture(scope="module")
def synth_record(tmp_path_factory) -> dict:
    """A template-teacher miss_func record, saved and read back as train reads the synth dataset."""
    from funreason.synth.assembly import synthesize_trajectory
    from funreason.synth.dataset import save_dataset
    from funreason.synth.teachers.template import TemplateTeacher
    from funreason.train.data import read_rows

    cfg = quiet_config(
        environments=["GorillaFileSystem", "TwitterAPI"], classes_per_trajectory=[2, 2], rounds=[3, 3],
        trace_length=[2, 3], miss_func_ratio=1.0,
    )  # fmt: skip
    for index in range(12):
        record = asyncio.run(synthesize_trajectory(index, cfg, 0, TemplateTeacher())).record
        missed = record and record["metadata"]["missed_function"]
        if missed and 1 <= int(next(iter(missed))) < len(record["metadata"]["turns"]) - 1:
            break  # a turn before the adding one, and one after it
    else:
        pytest.fail("no miss_func record in 12 trajectories")
    path = save_dataset([record], tmp_path_factory.mktemp("synth") / "dataset")
    (row,) = read_rows(path)
    return row


def loads(value):
    return json.loads(value) if isinstance(value, str) else value


# --- the three renderings ----------------------------------------------------------------------------------------
def bfcl_entry(record: dict, tmp_path) -> dict:
    """The record as a BFCL miss_func question, loaded by eval's loader (BFCL's populate step, language hint)."""
    meta, messages = loads(record["metadata"]), loads(record["messages"])
    turns: list[list[dict]] = []
    for i, m in enumerate(messages):
        if m["role"] == "user":
            if i == 0 or messages[i - 1]["role"] != "user":
                turns.append([])
            turns[-1].append({"role": "user", "content": m["content"]})
    for turn in meta["missed_function"]:
        turns[int(turn)] = []  # BFCL's data: the holdout turn is empty, the loop announces the tools
    question = {
        "id": "multi_turn_miss_func_0",
        "question": turns,
        "initial_config": meta["initial_config"],
        "involved_classes": meta["environment_refs"],
        "missed_function": meta["missed_function"],
    }
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(question) + "\n")
    (entry,) = load_tasks(question_file=path).all_entries()
    return entry


def scripted_replies(record: dict, options: ChatOptions) -> dict[tuple[int, int], str]:
    """(turn, step) -> the record's assistant message at that step, as the model would write it."""
    fmt, replies, turn, step = tool_format(options), {}, -1, 0
    messages = loads(record["messages"])
    for i, m in enumerate(messages):
        if m["role"] == "user" and (i == 0 or messages[i - 1]["role"] != "user"):
            turn, step = turn + 1, 0
        if m["role"] == "assistant":
            calls = [
                ToolCall(c["function"]["name"], loads(c["function"]["arguments"])) for c in m.get("tool_calls") or []
            ]
            replies[(turn, step)] = fmt.render_calls(calls) if calls else m["content"]
            step += 1
    return replies


def eval_prompts(tokenizer, record: dict, options: ChatOptions, tmp_path) -> dict[tuple[int, int], list[int]]:
    entry = bfcl_entry(record, tmp_path)
    replies = scripted_replies(record, options)
    seen: dict[tuple[int, int], list[int]] = {}

    def script(request) -> str:
        _, turn, step = request.key
        seen[(turn, step)] = list(request.ids)
        return replies[(turn, step)]

    stats = LockstepRunner(ScriptedBackend(script), tokenizer, options, progress=False).run([entry], tmp_path / "r")
    assert stats["errors"] == 0 and set(seen) == set(replies)
    return dict(sorted(seen.items()))


def sft_prompts(tokenizer, record: dict, options: ChatOptions, layout: str = "per_turn") -> list[list[int]]:
    """The prompt of every trained assistant turn: the example's ids before each run of trained tokens."""
    prompts = []
    for ids, mask in iter_examples(tokenizer, [("data", 0, record)], options, layout, progress=False):
        starts = [j for j, bit in enumerate(mask) if bit and not mask[j - 1]]
        assert layout == "full" or len(starts) == 1  # per_turn trains the last assistant message only
        prompts += [ids[:j] for j in starts]
    return prompts


def rl_prompts(tokenizer, record: dict, options: ChatOptions) -> list[list[int]]:
    """The prompt each turn's RL task starts its rollout from."""
    rollout = EnvRollout(tokenizer, options)
    return [rollout.start(task).prompt_ids for task in tasks_from_record(record, options=options)]


def doc_marker(name: str) -> str:
    return f'"name": "{name}"'  # how a doc names its tool in BFCL's prompt (pythonic) and in Qwen's <tools> block


def check_identity(tokenizer, record: dict, options: ChatOptions, tmp_path) -> None:
    meta = loads(record["metadata"])
    ((adding, held_names),) = meta["missed_function"].items()
    adding = int(adding)
    from_eval = eval_prompts(tokenizer, record, options, tmp_path)
    from_sft = sft_prompts(tokenizer, record, options)
    assert len(from_sft) == len(from_eval)
    for (turn, step), sft, ev in zip(from_eval, from_sft, from_eval.values()):
        assert sft == ev, f"turn {turn} step {step}: the SFT prompt differs from eval's"
    from_rl = rl_prompts(tokenizer, record, options)
    firsts = {turn: ids for (turn, step), ids in from_eval.items() if step == 0}
    assert len(from_rl) == len(firsts) and 1 <= adding < len(firsts) - 1  # turns before and after the adding one
    for turn, ids in firsts.items():
        assert from_rl[turn] == ids, f"turn {turn}: the RL task prompt differs from eval's"
    # The held tool is absent from every prompt before the adding turn, and announced at it as eval announces it.
    held_docs = [d for d in func_docs(meta["environment_refs"]) if d["name"] in held_names]
    for (turn, step), ids in from_eval.items():
        text = tokenizer.decode(ids)
        for name in held_names:
            if turn < adding:
                assert doc_marker(name) not in text and f"{name}(" not in text, (turn, step, name)
            elif options.tool_format == "hermes" and options.hermes_holdout == "tools":
                assert doc_marker(name) in text  # in the tool list from the adding turn on
        if turn >= adding:
            if options.tool_format == "hermes" and options.hermes_holdout == "tools":
                assert HOLDOUT_FC in text and repr(held_docs) not in text
            else:
                assert HOLDOUT_PROMPTING.format(functions=held_docs) in text
    # and the ground truth of the adding turn really uses it
    assert any(c.startswith(f"{held_names[0]}(") for c in meta["turns"][adding]["ground_truth"])


@pytest.mark.parametrize("case", list(CASES))
def test_hand_built_miss_func_record_renders_as_eval(tiny_tokenizer, tmp_path, case):
    check_identity(tiny_tokenizer, hand_record(), CASES[case], tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_synthesized_miss_func_record_renders_as_eval(tiny_tokenizer, synth_record, tmp_path, case):
    meta = loads(synth_record["metadata"])
    ((adding, _),) = meta["missed_function"].items()
    user = [m for m in loads(synth_record["messages"]) if m["role"] == "user"]
    assert user[int(adding)]["content"] == HOLDOUT_FC  # synth records BFCL's sentence, train renders the turn
    check_identity(tiny_tokenizer, synth_record, CASES[case], tmp_path)


@pytest.mark.parametrize("case", ["pythonic", "hermes-tools"])
def test_full_layout_trains_each_turn_once_under_the_tools_its_prompt_offers(tiny_tokenizer, tmp_path, case):
    """In the full layout each assistant turn is trained once, after the very prompt eval generates it from."""
    record, options = hand_record(), CASES[case]
    from_eval = list(eval_prompts(tiny_tokenizer, record, options, tmp_path).values())
    examples = list(iter_examples(tiny_tokenizer, [("data", 0, record)], options, "full", progress=False))
    assert len(examples) == (2 if case == "hermes-tools" else 1)  # tools grow at the holdout turn: two stages
    assert sft_prompts(tiny_tokenizer, record, options, layout="full") == from_eval


def test_records_without_missed_function_are_unchanged(tiny_tokenizer):
    record = hand_record()
    plain = {**record, "metadata": {**record["metadata"], "missed_function": {}}}
    for options in CASES.values():
        conv = holdout_conversation(plain["messages"], plain["tools"], None, options)
        assert conv.messages == plain["messages"] and conv.stages == [(0, plain["tools"])]
        (task, *_) = tasks_from_record(plain)  # no chat options needed without a held tool
        assert task.tools[0]["description"].endswith("Python 3 syntax.")


def test_inconsistent_missed_function_is_refused(tiny_tokenizer):
    record = hand_record()
    early = {**record, "metadata": {**record["metadata"], "missed_function": {"2": ["ls"]}}}
    report = new_report()  # a row that cannot be trained on is dropped and named (train/data.py)
    assert not list(iter_examples(tiny_tokenizer, [("data", 0, early)], CASES["pythonic"], "per_turn", progress=False,
                                  report=report))  # fmt: skip
    assert report["by_reason"] == {"missed_function": 1}
    assert re.search(r"data row 0: ls\(\) is called before turn 2", report["dropped_rows"][0]["why"])
    with pytest.raises(HoldoutError, match="holds out 'nope'"):
        holdout_conversation(record["messages"], record["tools"], {"2": ["nope"]}, CASES["pythonic"])
    with pytest.raises(HoldoutError, match="turn 7 is not a user turn"):
        holdout_conversation(record["messages"], record["tools"], {"7": ["sort"]}, CASES["pythonic"])
    with pytest.raises(Exception, match="needs the chat options"):
        tasks_from_record(record)


def test_identity_check_catches_a_record_rendered_without_its_holdout(tiny_tokenizer, tmp_path):
    """Negative control: rendering the record as before (held tool offered from turn 0, placeholder message kept)
    gives prompts that differ from eval's from the first one on."""
    from funreason.train.data import normalize_row, render_conversation

    record, options = hand_record(), CASES["pythonic"]
    from_eval = list(eval_prompts(tiny_tokenizer, record, options, tmp_path).values())
    messages, tools = normalize_row(record, "data row 0")
    old = render_conversation(tiny_tokenizer, messages, tools, options, "per_turn")
    old_prompts = [ids[: mask.index(1)] for ids, mask in old]
    assert len(old_prompts) == len(from_eval) and old_prompts[0] != from_eval[0]
    assert doc_marker("sort") in tiny_tokenizer.decode(old_prompts[0])
