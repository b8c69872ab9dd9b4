"""Agentic (memory, web search) result files: verdict parity with BFCL's agentic evaluator, files, CSVs.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_agentic.py
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from funreason.chat import hermes
from funreason.chat.calls import ToolCall
from funreason.eval import agentic
from funreason.eval import bfcl_layout as layout
from funreason.eval.score import score_results
from funreason.eval.step_decode import decode_step

from tests import bfcl_official as official

CALLS = [
    ToolCall("core_memory_retrieve", {}),
    ToolCall("archival_memory_key_search", {"query": "name", "k": 3}),
    ToolCall("search_engine_query", {"keywords": "richest billionaire China 2025"}),
]


def _step(call: ToolCall, fmt: str):
    if fmt == "fc":
        return [{call.name: json.dumps(call.arguments)}]
    if fmt == "hermes":
        return hermes.render_calls([call])
    return "[" + call.to_python(style="literal") + "]"


def _answer_text(answers: list[str], rng) -> str:
    answer = rng.choice(answers)
    return rng.choice(
        [
            f"{{'answer': '{answer}', 'context': 'from memory'}}",
            f"Your answer: {answer.upper()}.",
            f"It is {answer}-ish, I think",  # punctuation is dropped: still a word-bounded match
            f"I believe it's {answer}s",  # no word boundary after the answer
        ]
    )


def _result(answers: list[str], fmt: str, rng):
    kind = rng.choice(["pass", "pass", "wrong", "calls_only", "empty_last", "two_turns", "error", "text_then_call"])
    steps = [_step(rng.choice(CALLS), fmt) for _ in range(rng.randrange(3))]
    if kind == "error":
        return "Error during inference: rate limited"
    if kind == "wrong":
        return [steps + ["I could not find that in memory."]]
    if kind == "calls_only":
        return [steps + [_step(CALLS[0], fmt)]]
    if kind == "empty_last":
        return [steps + [_answer_text(answers, rng), "" if fmt != "fc" else rng.choice(["", []])]]
    if kind == "two_turns":
        return [steps + [_answer_text(answers, rng)], ["again"]]
    if kind == "text_then_call":
        return [[_answer_text(answers, rng), *steps, _step(CALLS[1], fmt)]]
    return [steps + [_answer_text(answers, rng)]]


def _handler(fmt: str):
    return {"pythonic": official.prompting_handler, "hermes": official.qwen_fc, "fc": official.api_fc}[fmt]()


@pytest.mark.parametrize("fmt", ["pythonic", "hermes", "fc"])
def test_verdicts_equal_official_agentic_evaluator(fmt):
    rng = random.Random(len(fmt))
    seen, differ, n = Counter(), [], 0
    for category in agentic.CATEGORIES:
        entries, answers = agentic._load(category)
        for entry_id, entry in entries.items():
            raw = json.loads(json.dumps(_result(answers[entry_id], fmt, rng)))
            v = official.evaluate_agentic_entry(
                _handler(fmt), entry_id, raw, answers[entry_id], dict(entry), "m", category
            )
            expected = None if v["valid"] else v["error"]["error_type"]
            ours = agentic.evaluate_entry(entry_id, raw, entry, answers[entry_id], category, fmt, "m", decode_step)
            got = None if ours["valid"] else ours["error"]["error_type"]
            seen[expected] += 1
            n += 1
            if got != expected:
                differ.append((category, entry_id, raw, got, expected))
    assert n == 3 * 155 + 2 * 100
    assert not differ, f"{len(differ)} of {n} differ, e.g. {differ[:3]}"
    assert set(seen) == {
        None, "agentic:inference_error", "agentic:no_last_message", "agentic:answer_not_found",
    }, seen  # fmt: skip


def test_ground_truth_answers_pass_and_files_land_where_bfcl_puts_them(tmp_path):
    model = tmp_path / "result" / "m"
    for category in agentic.CATEGORIES:
        entries, answers = agentic._load(category)
        d = model / layout.group_of(category)
        d.mkdir(parents=True, exist_ok=True)
        rows = [{"id": i, "result": [[_step(CALLS[0], "hermes"), f"The answer is {answers[i][0]}."]]} for i in entries]
        (d / f"BFCL_v4_{category}_result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # a prerequisite conversation file is not scored (BFCL does not score them)
    (model / "agentic" / "memory" / "kv" / "BFCL_v4_memory_kv_prereq_result.json").write_text(
        '{"id": "x", "result": []}\n'
    )
    summary = score_results(tmp_path / "result", tmp_path / "score", fmt="hermes", partial=False)
    cats = summary["models"]["m"]["categories"]
    assert sorted(cats) == sorted(agentic.CATEGORIES)
    assert all(c["accuracy"] == 1.0 and not c["partial"] for c in cats.values())
    assert (tmp_path / "score" / "m" / "agentic" / "memory" / "vector" / "BFCL_v4_memory_vector_score.json").exists()
    row = (tmp_path / "score" / "data_agentic.csv").read_text().split("\n")[1]
    assert row == "1,m,100.00%,100.00%,100.00%,100.00%,100.00%,100.00%,100.00%,100.00%"
    overall = (tmp_path / "score" / "data_overall.csv").read_text().split("\n")[1].split(",")
    assert overall[1] == "N/A"  # single-turn and multi-turn were not run
