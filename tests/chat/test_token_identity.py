"""invariant 1 of docs/design.md: the SFT example, the GRPO prompt and the eval prompt agree token for token, on the project's
tiny tokenizer, on Qwen3-4B-Instruct-2507's real one (built by `funreason tokenizer`), and on that vocabulary with
Qwen2.5-Instruct's chat template (the real model of `make real-model` is a Qwen2.5: its template writes a default
system prompt, no think blocks, and the newline before `<tool_call>` itself), so the renderer assumes no Qwen3-only
template behaviour.

For every assistant turn k of a multi-turn conversation (parallel calls, tool results, a second user turn, a text
reply), in both tool formats, with and without reasoning, with think_prefill on and off, and with history reasoning
kept or dropped:
  - render_prompt(messages[:k]).ids (the GRPO rollout prompt and the eval prompt: the same call) is a prefix of
    render_example(messages[:k+1]).ids, and the mask starts exactly where the prompt ends;
  - the masked tokens decode to exactly the assistant turn's text (after the <think> prefill) + <|im_end|>;
  - an eval loop that feeds those texts back through parse_assistant / assistant_message / tool_messages builds
    the same prompts again, and train="all" masks every turn at the same offsets.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_token_identity.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from funreason.chat import hermes, pythonic
from funreason.chat.calls import ToolCall
from funreason.chat.render import (
    RenderError,
    assistant_message,
    parse_assistant,
    render_example,
    render_prompt,
    tool_messages,
)
from funreason.core.sections.chat import ChatOptions

QWEN2_5_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "funreason" / "fixtures" / "templates" / "qwen2_5_instruct.jinja"
)


@pytest.fixture(scope="module")
def qwen2_5_template_tokenizer(qwen3_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(qwen3_tokenizer_dir)
    tok.chat_template = QWEN2_5_TEMPLATE.read_text()
    return tok


@pytest.fixture(params=["tiny", "qwen3", "qwen2_5_template"])
def tokenizer(request):
    return request.getfixturevalue(f"{request.param}_tokenizer")


TOOLS = [
    {
        "name": "cd",
        "description": "Change directory.",
        "parameters": {"type": "dict", "properties": {"folder": {"type": "string"}}, "required": ["folder"]},
        "response": {"type": "dict", "properties": {"current_working_directory": {"type": "string"}}},
    },
    {
        "name": "grep",
        "description": "Search a file.",
        "parameters": {
            "type": "dict",
            "properties": {"file_name": {"type": "string"}, "pattern": {"type": "string"}},
            "required": ["file_name", "pattern"],
        },
    },
    {"name": "ls", "description": "List.", "parameters": {"type": "dict", "properties": {"a": {"type": "boolean"}}}},
]


def tc(name, **arguments):
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def conversation(with_reasoning: bool) -> list[dict]:
    def think(text):
        return {"reasoning_content": text} if with_reasoning else {}

    return [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "Go to docs and find 'budget' in report.txt, café style."},
        {"role": "assistant", "content": "", "tool_calls": [tc("cd", folder="docs"), tc("ls", a=True)],
         **think("First move into docs\nand list it.")},
        {"role": "tool", "content": '{"current_working_directory": "docs"}'},
        {"role": "tool", "content": '{"current_directory_content": ["report.txt"]}'},
        {"role": "assistant", "content": "", "tool_calls": [tc("grep", file_name="report.txt", pattern="budget")],
         **think("Now search.")},
        {"role": "tool", "content": '{"matching_lines": ["budget: 5"]}'},
        {"role": "assistant", "content": " The budget line is: budget: 5.", **think("Found it.")},
        {"role": "user", "content": "And list again?"},
        {"role": "assistant", "content": "", "tool_calls": [tc("ls")]},
        {"role": "tool", "content": '{"current_directory_content": ["report.txt"]}'},
        {"role": "assistant", "content": "Only report.txt.", **think("Done.")},
    ]  # fmt: skip


def generated_text(message: dict, options: ChatOptions) -> str:
    """What the model must generate for this turn (after the prompt), written from the format spec."""
    calls = [ToolCall.from_message(c) for c in message.get("tool_calls") or []]
    content = message.get("content") or ""
    if options.tool_format == "pythonic":
        body = pythonic.render_calls(calls) if calls else content
    else:
        body = content + ("\n" if content and calls else "") + hermes.render_calls(calls)
    reasoning = message.get("reasoning_content")
    if reasoning or options.think_prefill:
        body = f"<think>\n{reasoning or ''}\n</think>\n\n{body}"
    return body[len("<think>") :] if options.think_prefill else body


COMBOS = list(itertools.product(["hermes", "pythonic"], [True, False], [False, True], ["drop", "keep"]))


@pytest.mark.parametrize("fmt, with_reasoning, prefill, history", COMBOS)
def test_sft_example_and_prompts_agree_token_for_token(tokenizer, fmt, with_reasoning, prefill, history):
    options = ChatOptions(tool_format=fmt, think_prefill=prefill, history_reasoning=history)
    messages = conversation(with_reasoning)
    assistants = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    prompts = {}
    for k in assistants:
        prompt = render_prompt(tokenizer, messages[:k], TOOLS, options)
        example = render_example(tokenizer, messages[: k + 1], TOOLS, options, train="last")
        n = len(prompt.ids)
        assert example.ids[:n] == prompt.ids, f"turn {k}: prompt ids are not a prefix of the example ids"
        assert example.mask[:n] == [0] * n and example.mask[n] == 1, f"turn {k}: mask does not start at the prompt end"
        masked = [t for t, m in zip(example.ids, example.mask) if m]
        assert example.ids[n : n + len(masked)] == masked, f"turn {k}: masked tokens are not one contiguous run"
        expected = generated_text(messages[k], options) + "<|im_end|>"
        assert tokenizer.decode(masked) == expected
        assert example.text.startswith(prompt.text)
        assert prompt.text.endswith("<|im_start|>assistant\n<think>" if prefill else "<|im_start|>assistant\n")
        prompts[k] = prompt

    # the whole conversation training its last turn: the last prompt is its prefix; so is every earlier prompt,
    # except that with prefill + drop an earlier turn's prompt ends in "<think>" which its history form drops
    full = render_example(tokenizer, messages, TOOLS, options, train="last")
    assert full.mask.index(1) == len(prompts[assistants[-1]].ids)
    for k in assistants:
        expect_prefix = k == assistants[-1] or not (prefill and history == "drop")
        assert (full.ids[: len(prompts[k].ids)] == prompts[k].ids) == expect_prefix
    history_matches_targets = history == "keep" or not (with_reasoning or prefill)

    # train="all": valid when history keeps reasoning or there is none to drop; every turn masked at its prompt end
    if history_matches_targets:
        every = render_example(tokenizer, messages, TOOLS, options, train="all")
        assert [start for start, _ in every.spans] == [len(prompts[k].ids) for k in assistants]
        for (start, end), k in zip(every.spans, assistants):
            assert every.ids[:start] == prompts[k].ids
            assert tokenizer.decode(every.ids[start:end]) == generated_text(messages[k], options) + "<|im_end|>"
        assert sum(every.mask) == sum(end - start for start, end in every.spans)
    else:
        with pytest.raises(RenderError, match="train='all'"):
            render_example(tokenizer, messages, TOOLS, options, train="all")


@pytest.mark.parametrize("fmt, with_reasoning, prefill, history", COMBOS)
def test_eval_loop_rebuilds_the_training_prompts(tokenizer, fmt, with_reasoning, prefill, history):
    """Play the data's turns back as model outputs through the eval-side helpers: the prompts must not drift."""
    options = ChatOptions(tool_format=fmt, think_prefill=prefill, history_reasoning=history)
    messages = conversation(with_reasoning)
    history_msgs = messages[:2]
    i = 2
    while i < len(messages):
        message = messages[i]
        if message["role"] == "user":
            history_msgs.append(message)
            i += 1
            continue
        assert message["role"] == "assistant"
        prompt = render_prompt(tokenizer, history_msgs, TOOLS, options)
        reference = render_prompt(tokenizer, messages[:i], TOOLS, options)
        assert prompt.ids == reference.ids, f"eval prompt before message {i} drifted from the training prompt"
        text = generated_text(message, options)
        reply = parse_assistant(text, options, TOOLS)
        expected_calls = [ToolCall.from_message(c) for c in message.get("tool_calls") or []]
        # a text reply ends the turn: hermes finds no call, pythonic fails to decode (as in BFCL)
        assert reply.ok == bool(expected_calls or fmt == "hermes"), reply.error
        assert reply.calls == expected_calls
        assert (reply.reasoning or None) == (message.get("reasoning_content") or None)
        history_msgs.append(assistant_message(text, options, TOOLS))
        i += 1
        results = []
        while i < len(messages) and messages[i]["role"] == "tool":
            results.append(messages[i]["content"])
            i += 1
        history_msgs += tool_messages(reply.calls, results, options)
    final = render_example(tokenizer, history_msgs, TOOLS, options)
    assert final.ids == render_example(tokenizer, messages, TOOLS, options).ids


@pytest.mark.parametrize("fmt, prefill", [("pythonic", True), ("pythonic", False), ("hermes", False)])
def test_merged_tool_results_render_alike_in_sft_and_eval(tokenizer, fmt, prefill):
    """tool_results=merged (FunReason-MT's handler): the eval/RL step feeds a step's results back as one tool message
    `str(list_of_results)`, and SFT rows (stored one message per result) are merged the same way by
    train.data.render_conversation: every per-turn example's prompt is what the eval loop renders."""
    from funreason.chat.messages import merge_tool_results
    from funreason.train.data import render_conversation

    options = ChatOptions(tool_format=fmt, think_prefill=prefill, tool_results="merged")
    messages = conversation(False)
    merged = merge_tool_results(messages, "merged")
    assert [m["content"] for m in merged if m["role"] == "tool"] == [
        str(['{"current_working_directory": "docs"}', '{"current_directory_content": ["report.txt"]}']),
        str(['{"matching_lines": ["budget: 5"]}']),
        str(['{"current_directory_content": ["report.txt"]}']),
    ]
    assert merge_tool_results(messages, "separate") is messages
    # the eval loop, building history with the step helpers
    history_msgs, prompts, i = messages[:2], [], 2
    while i < len(messages):
        message = messages[i]
        if message["role"] == "user":
            history_msgs.append(message)
            i += 1
            continue
        prompts.append(render_prompt(tokenizer, history_msgs, TOOLS, options))
        text = generated_text(message, options)
        reply = parse_assistant(text, options, TOOLS)
        history_msgs.append(assistant_message(text, options, TOOLS))
        i += 1
        results = []
        while i < len(messages) and messages[i]["role"] == "tool":
            results.append(messages[i]["content"])
            i += 1
        if results:
            fed = tool_messages(reply.calls, results, options)
            assert len(fed) == 1 and fed[0]["content"] == str(results)
            history_msgs += fed
    # the SFT side, from the stored (separate) conversation
    examples = render_conversation(tokenizer, messages, TOOLS, options, layout="per_turn")
    assert len(examples) == len(prompts) == 5
    for (ids, mask), prompt in zip(examples, prompts):
        n = len(prompt.ids)
        assert ids[:n] == prompt.ids and mask[:n] == [0] * n and mask[n] == 1
    assert "<tool_response>\n['{" in prompts[1].text  # one response block carrying the list
    assert prompts[1].text.count("<tool_response>") == 1
    # and it differs from the separate form (the option does something)
    separate = ChatOptions(tool_format=fmt, think_prefill=prefill)
    assert render_prompt(tokenizer, messages[:5], TOOLS, separate).ids != prompts[1].ids
