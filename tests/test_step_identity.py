"""Eval's BFCL runner and the GRPO rollout take the same step (funreason.chat.step) and see the same prompt token ids.

Both loops are driven with the same scripted replies on BFCL's multi_turn_base_0, turn 0 (two steps of calls, then
a text answer): eval through `LockstepRunner` with a scripted backend, RL through `EnvRollout.run` with a scripted
`generate`. At every step the ids eval generates from (`GenRequest.ids`, re-rendered from the history) must equal
the ids RL generates from (prompt + generated tokens + spliced tool results), in both tool-call formats.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_step_identity.py
"""

from __future__ import annotations

import pytest
from funreason.chat.calls import ToolCall
from funreason.chat.formats import tool_format
from funreason.core.sections.chat import ChatOptions
from funreason.eval.backends import ScriptedBackend
from funreason.eval.runner import LockstepRunner
from funreason.eval.tasks import load_tasks
from funreason.train.rl_tasks import RLTask
from funreason.train.rollout import EnvRollout

ENTRY = "multi_turn_base_0"
STEP_CALLS = [
    [ToolCall("cd", {"folder": "document"}), ToolCall("mkdir", {"dir_name": "temp"})],
    [ToolCall("mv", {"source": "final_report.pdf", "destination": "temp"}), ToolCall("ls", {})],
]
ANSWER = "I moved final_report.pdf into document/temp."
REASONING = ["I need the document folder first.", "Now move the file and check.", "All done."]

CASES = {
    "hermes": ChatOptions(tool_format="hermes"),
    "pythonic": ChatOptions(tool_format="pythonic"),
    "hermes-keep-reasoning": ChatOptions(tool_format="hermes", history_reasoning="keep"),
    "pythonic-prefill-keep": ChatOptions(tool_format="pythonic", history_reasoning="keep", think_prefill=True),
    # FunReason-MT's handler: every result of a step in one tool message, str(list_of_results)
    "pythonic-merged": ChatOptions(tool_format="pythonic", tool_results="merged"),
    "pythonic-merged-prefill-keep": ChatOptions(
        tool_format="pythonic", history_reasoning="keep", think_prefill=True, tool_results="merged"
    ),
    "hermes-merged": ChatOptions(tool_format="hermes", tool_results="merged"),
}


def replies(options: ChatOptions) -> list[str]:
    """The scripted turn: two steps of calls, then a text answer (with a reasoning block where the case keeps it)."""
    bodies = [tool_format(options).render_calls(calls) for calls in STEP_CALLS] + [ANSWER]
    if options.history_reasoning != "keep":
        return bodies
    opener = "" if options.think_prefill else "<think>"  # with the prefill, the prompt already ends with <think>
    return [f"{opener}\n{r}\n</think>\n\n{b}" for r, b in zip(REASONING, bodies)]


@pytest.fixture(scope="module")
def entry():
    tasks = load_tasks(["base"], ids=[ENTRY])
    (entry,) = tasks.all_entries()
    return entry, tasks.ground_truth["base"][ENTRY]


def rl_task(entry: dict, ground_truth: list[list[str]]) -> RLTask:
    """Turn 0 of the BFCL entry as an RL task: the same user message, tools and initial state eval starts from."""
    return RLTask(
        messages=list(entry["question"][0]),
        tools=list(entry["function"]),
        involved_classes=list(entry["involved_classes"]),
        initial_config=entry["initial_config"],
        long_context=False,
        turn_index=0,
        history=[],
        ground_truth=ground_truth[0],
        source=ENTRY,
    )


def eval_prompts(tokenizer, entry: dict, options: ChatOptions, texts: list[str], tmp_path) -> list[list[int]]:
    """The ids of every turn-0 prompt the runner sends to its backend (later turns answer with plain text)."""
    seen: dict[int, list[int]] = {}

    def script(request) -> str:
        _, turn, step = request.key
        if turn != 0:
            return "OK."
        seen[step] = list(request.ids)
        return texts[step]

    stats = LockstepRunner(ScriptedBackend(script), tokenizer, options, progress=False).run([entry], tmp_path)
    assert stats["errors"] == 0
    return [seen[k] for k in sorted(seen)]


def rl_contexts(tokenizer, task: RLTask, options: ChatOptions, texts: list[str]):
    """The ids of every context the rollout generates from, and its episode."""
    seen: list[list[int]] = []

    def generate(contexts):
        (context,) = contexts
        seen.append(list(context))
        ids = tokenizer(texts[len(seen) - 1], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        return [ids], None

    rollout = EnvRollout(tokenizer, options, max_tool_steps=5, max_completion_length=8192)
    (episode,) = rollout.run([task], generate)
    return seen, episode


def first_difference(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


@pytest.mark.parametrize("case", list(CASES))
def test_eval_and_rl_prompts_are_token_identical(tiny_tokenizer, entry, tmp_path, case):
    options = CASES[case]
    texts = replies(options)
    for text in texts:  # the scripted replies survive the RL side's decode unchanged (else the test proves little)
        ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == text
    bfcl_entry, ground_truth = entry
    from_eval = eval_prompts(tiny_tokenizer, bfcl_entry, options, texts, tmp_path)
    from_rl, episode = rl_contexts(tiny_tokenizer, rl_task(bfcl_entry, ground_truth), options, texts)
    assert len(from_eval) == len(from_rl) == len(texts)  # both ran the call steps and ended on the answer
    for step, (a, b) in enumerate(zip(from_eval, from_rl)):
        assert a == b, f"step {step}: eval and RL prompts differ from token {first_difference(a, b)} on"
    # The calls really ran: four results without an execution error, the file moved out of document/.
    assert episode.finished and episode.num_calls == 4 and episode.num_errors == 0
    assert episode.results[-1] == '{"current_directory_content": ["previous_report.pdf", "temp"]}'
    assert episode.steps_ok == [True, True, True]
    assert from_rl[1][: len(from_rl[0])] == from_rl[0] and from_rl[2][: len(from_rl[1])] == from_rl[1]


def test_identity_check_catches_a_different_tool_rendering(tiny_tokenizer, entry, tmp_path, monkeypatch):
    """Negative control: if the rollout fed tool results back differently, the prompts would differ."""
    import funreason.chat.step
    import funreason.train.rollout

    def shifted_step(*args, **kwargs):
        step = funreason.chat.step.take_step(*args, **kwargs)
        step.tool_messages = [{**m, "content": m["content"] + " "} for m in step.tool_messages]
        return step

    options = CASES["pythonic"]
    texts = replies(options)
    bfcl_entry, ground_truth = entry
    from_eval = eval_prompts(tiny_tokenizer, bfcl_entry, options, texts, tmp_path)
    monkeypatch.setattr(funreason.train.rollout, "take_step", shifted_step)
    from_rl, _ = rl_contexts(tiny_tokenizer, rl_task(bfcl_entry, ground_truth), options, texts)
    assert from_eval[0] == from_rl[0] and from_eval[1] != from_rl[1]
