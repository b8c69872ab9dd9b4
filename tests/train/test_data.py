"""SFT dataset building (train/data.py): layouts, token identity with eval prompts, mixing, bad rows. Masks and
token identity are checked on the tiny tokenizer and on Qwen3's real one (conftest `tokenizer`).

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/train/test_data.py

`sft_conversations()` is the small fixed tool-calling dataset the SFT tests train on (the synth stage is not
needed): arithmetic and weather tasks over two declared tools, one to three user turns each.
"""

from __future__ import annotations

import json
import random

import pytest
from funreason.chat.render import render_prompt
from funreason.chat.tools import offered_docs
from funreason.core.sections.chat import ChatOptions
from funreason.core.sections.train import DatasetSpec
from funreason.train.data import DatasetError, build_sft_dataset, mix, new_report, read_rows

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer", "description": "first"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "city name"}},
                "required": ["city"],
            },
        },
    },
]
CITIES = ["Paris", "Austin", "Lima", "Oslo", "Cairo", "Delhi"]


def _call(name: str, **arguments) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def _turn(rng: random.Random) -> list[dict]:
    if rng.random() < 0.5:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        return [
            {"role": "user", "content": f"please add {a} and {b}"},
            {"role": "assistant", "content": "", "tool_calls": [_call("add", a=a, b=b)]},
            {"role": "tool", "content": str(a + b)},
            {"role": "assistant", "content": f"The sum is {a + b}."},
        ]
    city = rng.choice(CITIES)
    return [
        {"role": "user", "content": f"weather in {city}?"},
        {"role": "assistant", "content": "", "tool_calls": [_call("weather", city=city)]},
        {"role": "tool", "content": "sunny"},
        {"role": "assistant", "content": f"It is sunny in {city}."},
    ]


def _chat_turn(rng: random.Random) -> list[dict]:
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    return [{"role": "user", "content": f"add {a} and {b}"}, {"role": "assistant", "content": f"The sum is {a + b}."}]


def sft_conversations(n: int = 16, seed: int = 0, tools: bool = True) -> list[dict]:
    """Tool-calling conversations, or (tools=False) short plain chats for the training-speed-bound tests: with
    tools the pythonic system prompt alone is ~500 tokens of the tiny tokenizer."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        turn = _turn if tools else _chat_turn
        messages = [m for _ in range(rng.randint(1, 3)) for m in turn(rng)]
        rows.append({"messages": messages, "tools": TOOLS} if tools else {"messages": messages})
    return rows


def write_dataset(path, rows: list[dict]):
    """Save like the synth stage does (datasets.save_to_disk, JSON-typed messages) or as .jsonl by suffix."""
    if str(path).endswith(".jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path
    from datasets import Dataset

    Dataset.from_list(rows, on_mixed_types="use_json").save_to_disk(str(path))
    return path


OPTIONS = ChatOptions(tool_format="pythonic")


@pytest.fixture(scope="module")
def convs():
    return sft_conversations(6, seed=1)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, convs):
    return write_dataset(tmp_path_factory.mktemp("sftdata") / "dataset", convs)


def _assistant_count(rows):
    return sum(m["role"] == "assistant" for r in rows for m in r["messages"])


def test_save_to_disk_and_jsonl_read_back_identically(tmp_path, saved, convs):
    jsonl = write_dataset(tmp_path / "rows.jsonl", convs)
    assert read_rows(saved) == read_rows(jsonl) == convs


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_per_turn_examples_continue_the_eval_prompt(tokenizer, saved, convs, fmt):
    """per_turn: one example per assistant message; its prefix is exactly the inference prompt, mask starts there."""
    options = ChatOptions(tool_format=fmt)
    ds = build_sft_dataset(tokenizer, [DatasetSpec(str(saved))], options, layout="per_turn", progress=False)
    assert len(ds) == _assistant_count(convs)
    expected = []
    for row in convs:
        msgs = row["messages"]
        for k, m in enumerate(msgs):
            if m["role"] == "assistant":
                # the eval prompt offers the tools as chat.tools decides (BFCL's Python hint), and so does SFT
                expected.append((render_prompt(tokenizer, msgs[:k], offered_docs(TOOLS), options).ids, m))
    got = sorted(zip(ds["input_ids"], ds["assistant_masks"]), key=lambda x: x[0])
    for prompt_ids, message in expected:
        match = [
            (ids, mask)
            for ids, mask in got
            if ids[: len(prompt_ids)] == prompt_ids and mask.index(1) == len(prompt_ids)
        ]
        assert match, f"no example continues the prompt for {message}"
        ids, mask = match[0]
        # Loss only on that message: one contiguous span up to <|im_end|>; only the template's newline follows.
        first, end = mask.index(1), len(mask) - mask[::-1].index(1)
        assert all(mask[first:end]) and not any(mask[:first]) and not any(mask[end:])
        assert tokenizer.decode(ids[end:]) == "\n"
        trained = tokenizer.decode(ids[first:end])
        assert trained.endswith("<|im_end|>")
        if message.get("tool_calls"):
            fn = message["tool_calls"][0]["function"]
            assert fn["name"] in trained and all(str(v) in trained for v in fn["arguments"].values())
        else:
            assert trained == message["content"] + "<|im_end|>"


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_full_layout_trains_every_assistant_turn(tokenizer, saved, convs, fmt):
    options = ChatOptions(tool_format=fmt)
    ds = build_sft_dataset(tokenizer, [DatasetSpec(str(saved))], options, layout="full", progress=False)
    assert len(ds) == len(convs)
    for ids, mask in zip(ds["input_ids"], ds["assistant_masks"]):
        spans, start = [], None
        for i, bit in enumerate([*mask, 0]):
            if bit and start is None:
                start = i
            elif not bit and start is not None:
                spans.append((start, i))
                start = None
        text = tokenizer.decode(ids)
        assert len(spans) == text.count("<|im_start|>assistant")
        for a, b in spans:
            assert tokenizer.decode(ids[:a]).endswith("<|im_start|>assistant\n")
            assert tokenizer.decode(ids[a:b]).endswith("<|im_end|>")
        untrained = tokenizer.decode([t for t, bit in zip(ids, mask) if not bit])
        assert "please add" in untrained or "weather in" in untrained  # user turns are never trained


def test_mixing_weights_are_seeded_and_counted():
    a = [{"i": i} for i in range(10)]
    b = [{"j": j} for j in range(8)]
    picked = mix([("a", a), ("b", b)], [2.0, 0.5], seed=3)
    names = [name for name, _, _ in picked]
    assert names.count("a") == 20 and names.count("b") == 4
    assert picked == mix([("a", a), ("b", b)], [2.0, 0.5], seed=3)
    assert picked != mix([("a", a), ("b", b)], [2.0, 0.5], seed=4)
    assert len({i for name, i, _ in picked if name == "b"}) == 4  # a half is a sample without repeats


def test_mixed_datasets_and_json_string_columns(tiny_tokenizer, tmp_path, saved, convs):
    """An xLAM-style export (tools/messages/arguments stored as JSON text) mixes with a synth dataset."""
    rows = []
    for r in convs[:2]:
        msgs = [
            {
                **m,
                "tool_calls": [
                    {**c, "function": {**c["function"], "arguments": json.dumps(c["function"]["arguments"])}}
                    for c in m["tool_calls"]
                ],
            }
            if m.get("tool_calls")
            else m
            for m in r["messages"]
        ]
        rows.append({"messages": json.dumps(msgs), "tools": json.dumps(TOOLS)})
    other = write_dataset(tmp_path / "xlam_style.jsonl", rows)
    specs = [DatasetSpec(str(saved), 1.0), DatasetSpec(str(other), 2.0)]
    ds = build_sft_dataset(tiny_tokenizer, specs, OPTIONS, layout="full", progress=False)
    assert len(ds) == len(convs) + 4
    plain = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(saved))], OPTIONS, layout="full", progress=False)
    # The JSON-text rows render to exactly the same tokens as their structured originals.
    for ids in ds["input_ids"]:
        assert ids in plain["input_ids"]


BAD_ROWS = {
    "missing_messages": ({"conversation": []}, "missing `messages`"),
    "undeclared_tool": (
        {
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "", "tool_calls": [_call("rm", path="/")]},
            ],
            "tools": TOOLS,
        },
        "'rm', which is not among the declared tools",
    ),
    "ends_with_user": (
        {
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "y"},
                {"role": "user", "content": "z"},
            ]
        },
        "ends with a user message",
    ),
    "unknown_role": (
        {"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]},
        "unknown role 'robot'",
    ),
    "bad_arguments_json": (
        {
            "messages": [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": "{a: 1"}}],
                },
            ],
            "tools": TOOLS,
        },
        "tool-call arguments is a string but not valid JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_rows_name_the_dataset_and_row(tiny_tokenizer, tmp_path, convs, case):
    """One bad row of four is dropped and named; a quarter of the rows is past sft.max_dropped_fraction's default,
    so the set is refused, naming that row (tests/train/test_data_bad_input.py: the rule itself)."""
    bad, message = BAD_ROWS[case]
    rows = [convs[0], convs[1], bad, convs[2]]
    path = write_dataset(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DatasetError) as err:
        build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(path))], OPTIONS, progress=False)
    text = str(err.value)
    assert f"{path} row 2" in text and message in text, text
    report = new_report()
    ds = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(path))], OPTIONS, progress=False, report=report,
                           max_dropped_fraction=0.25)  # fmt: skip
    assert len(ds) == _assistant_count(convs[:3]) and report["rows_dropped"] == 1
    assert report["dropped_rows"][0]["row"] == 2 and message in report["dropped_rows"][0]["why"]


def test_missing_and_malformed_files(tiny_tokenizer, tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(tmp_path / "nope"))], OPTIONS)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": []}\n{not json\n')
    with pytest.raises(DatasetError, match=r"no examples .*row 1: line 2: not valid JSON"):
        build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(broken))], OPTIONS)


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_reasoning_drop_trains_only_the_visible_answer(tokenizer, fmt):
    from funreason.chat.render import render_prompt
    from funreason.core.sections.chat import ChatOptions
    from funreason.train.data import render_conversation, without_reasoning

    messages = [
        {"role": "user", "content": "list files"},
        {"role": "assistant", "content": "", "reasoning_content": "I should call ls.",
         "tool_calls": [{"type": "function", "function": {"name": "ls", "arguments": {}}}]},
    ]  # fmt: skip
    tools = [{"name": "ls", "description": "List.", "parameters": {"type": "dict", "properties": {}, "required": []}}]
    options = ChatOptions(tool_format=fmt)
    kept = render_conversation(tokenizer, messages, tools, options, "per_turn")
    dropped = render_conversation(tokenizer, without_reasoning(messages), tools, options, "per_turn")
    prompt = render_prompt(tokenizer, messages[:1], tools, options).ids
    for ids, mask in (kept[0], dropped[0]):
        assert ids[: len(prompt)] == list(prompt) and mask.index(1) == len(prompt)
    trained = lambda ex: tokenizer.decode([i for i, m in zip(*ex) if m])  # noqa: E731
    assert "I should call ls." in trained(kept[0])
    call = "[ls()]" if fmt == "pythonic" else '<tool_call>\n{"name": "ls", "arguments": {}}\n</tool_call>'
    assert trained(dropped[0]) == call + "<|im_end|>"
