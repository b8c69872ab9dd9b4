"""Bad input for SFT (issue #24): one rule for rows that cannot be trained on (dropped, counted by reason, named;
refused before the model loads only past sft.max_dropped_fraction or with nothing left), and the common conventions
of exported sets (OpenAI content parts, the legacy `function` role, arguments as JSON text) read, not refused.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/train/test_data_bad_input.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from funreason.core.sections.train import DatasetSpec
from funreason.train.data import DatasetError, build_sft_dataset, new_report

from tests.train.test_data import OPTIONS, TOOLS, _call, sft_conversations
from tests.train.test_sft import write_recipe

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _chat(*messages: dict, tools: list | None = TOOLS) -> str:
    row = {"messages": list(messages)}
    if tools is not None:
        row["tools"] = tools
    return json.dumps(row)


USER = {"role": "user", "content": "please add 2 and 3"}
CALL = {"role": "assistant", "content": "", "tool_calls": [_call("add", a=2, b=3)]}
RESULT = {"role": "tool", "content": "5"}
ANSWER = {"role": "assistant", "content": "It is 5."}

# The issue's cases: what a converted public set holds. Each bad line -> the reason it is dropped for.
ISSUE_BAD = {
    "arguments_not_json": _chat(
        USER, {**CALL, "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": "{a: 2"}}]}
    ),
    "undeclared_tool": _chat(USER, {**CALL, "tool_calls": [_call("rm", path="/")]}, RESULT, ANSWER),
    "tool_result_without_call": _chat(USER, RESULT, ANSWER),
    "no_assistant_turn": _chat(USER, ANSWER, USER),
    "not_a_conversation": json.dumps({"messages": [], "tools": TOOLS}),
}
# Conventions that are read: each row renders like its plain twin below.
CONVENTIONS = {
    "content_parts": _chat(
        {"role": "user", "content": [{"type": "text", "text": "please add"}, {"type": "text", "text": "2 and 3"}]},
        CALL,
        RESULT,
        {"role": "assistant", "content": [{"type": "text", "text": "It is 5."}]},
    ),
    "function_role": _chat(USER, CALL, {"role": "function", "name": "add", "content": "5"}, ANSWER),
    "arguments_as_json_text": _chat(
        USER,
        {**CALL, "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}]},
        RESULT,
        ANSWER,
    ),
    "legacy_function_call": _chat(
        USER,
        {"role": "assistant", "content": None, "function_call": {"name": "add", "arguments": '{"a": 2, "b": 3}'}},
        {"role": "function", "name": "add", "content": "5"},
        ANSWER,
    ),  # fmt: skip
}
TWINS = {
    "content_parts": _chat({"role": "user", "content": "please add\n2 and 3"}, CALL, RESULT, ANSWER),
    "function_role": _chat(USER, CALL, {"role": "tool", "name": "add", "content": "5"}, ANSWER),
    "arguments_as_json_text": _chat(USER, CALL, RESULT, ANSWER),
    "legacy_function_call": _chat(USER, CALL, {"role": "tool", "name": "add", "content": "5"}, ANSWER),
}
# Lines Python's own parsers or encoders choke on, and other rows that cannot be trained on.
HOSTILE = {
    "deep_nesting": ('{"messages": ' + "[" * 200_000 + "]" * 200_000 + "}", "unreadable", "nested more than"),
    "huge_int": ('{"messages": [], "n": ' + "7" * 5000 + "}", "unreadable", "more than 4300 digits"),
    "not_json": ("{messages: [", "unreadable", "not valid JSON"),
    "utf16": ('{"messages": []}'.encode("utf-16").decode("latin-1"), "unreadable", "UTF-16"),
    "lone_surrogate": (_chat({"role": "user", "content": "emoji \ud83d"}, ANSWER), "unencodable_text", "surrogate"),
    "image_part": (
        _chat({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x.png"}}]}, ANSWER),
        "non_text_content",
        "'image_url' is not text",
    ),
    "off_schema": (
        _chat(USER, {**CALL, "tool_calls": [_call("add", a="two", b=3)]}, RESULT, ANSWER),
        "arguments_do_not_fit_schema",
        "add(a=...) is str",
    ),  # fmt: skip
    "control_token": (_chat({"role": "user", "content": "hi<|im_end|>"}, ANSWER), "control_token", "<|im_end|>"),
    "not_a_mapping": ("[1, 2]", "not_a_conversation", "must be a mapping"),
    "tools_not_schemas": (json.dumps({"messages": [USER, ANSWER], "tools": [1, 2]}), "invalid_tools", "`tools`: "),
    "schema_properties_a_list": (
        _chat(
            USER,
            CALL,
            RESULT,
            ANSWER,
            tools=[
                {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": [1]}}}
            ],
        ),
        "invalid_tools",
        "`tools`: ",
    ),  # fmt: skip
    "arguments_a_list": (
        _chat(USER, {**CALL, "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": "[2, 3]"}}]}),
        "arguments_not_json",
        "must be a dict",
    ),
}


def _write(path: Path, lines: list[str]) -> Path:
    # latin-1 passes the UTF-16 case's bytes through; every other line is ASCII JSON
    path.write_bytes(b"".join(line.encode("latin-1") + b"\n" for line in lines))
    return path


def _good(n: int) -> list[str]:
    return [json.dumps(r) for r in sft_conversations(n, seed=3)]


def _build(tokenizer, path: Path, **kw):
    report = new_report()
    ds = build_sft_dataset(tokenizer, [DatasetSpec(str(path))], OPTIONS, layout="full", progress=False,
                           report=report, **kw)  # fmt: skip
    return ds, report


def test_200_rows_with_one_bad_row_of_each_issue_kind_train_and_name_the_rows(tiny_tokenizer, tmp_path, capsys):
    lines = _good(200 - len(ISSUE_BAD) - len(CONVENTIONS))
    at = {}
    for k, (kind, line) in enumerate([*ISSUE_BAD.items(), *CONVENTIONS.items()]):
        at[kind] = 17 * k + 3
        lines.insert(at[kind], line)
    assert len(lines) == 200
    path = _write(tmp_path / "export.jsonl", lines)
    ds, report = _build(tiny_tokenizer, path)  # default threshold: 5 of 200 dropped passes
    assert len(ds) == 200 - len(ISSUE_BAD)
    assert report["rows"] == 200 and report["rows_dropped"] == len(ISSUE_BAD)
    assert report["by_reason"] == {kind: 1 for kind in ISSUE_BAD}
    named = {(d["row"], d["reason"]) for d in report["dropped_rows"]}
    assert named == {(at[kind], kind) for kind in ISSUE_BAD}
    assert all(
        d["source"] == str(path) and d["why"].startswith(f"{path} row {d['row']}: ") for d in report["dropped_rows"]
    )
    out = capsys.readouterr().out
    for kind in ISSUE_BAD:
        assert "[sft] warning: dropped 1 of 200 rows: " in out and f"[{kind}] (first: {path} row {at[kind]}:" in out


@pytest.mark.parametrize("kind", sorted(CONVENTIONS))
def test_conventions_render_as_their_plain_twins(tiny_tokenizer, tmp_path, kind):
    read, _ = _build(tiny_tokenizer, _write(tmp_path / "a.jsonl", [CONVENTIONS[kind]]))
    twin, _ = _build(tiny_tokenizer, _write(tmp_path / "b.jsonl", [TWINS[kind]]))
    assert read["input_ids"] == twin["input_ids"] and read["assistant_masks"] == twin["assistant_masks"]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_rows_are_dropped_by_reason_and_named(tiny_tokenizer, tmp_path, case):
    line, reason, why = HOSTILE[case]
    lines = _good(24)
    lines.insert(5, line)
    ds, report = _build(tiny_tokenizer, _write(tmp_path / "d.jsonl", lines))
    assert len(ds) == 24 and report["by_reason"] == {reason: 1}
    (dropped,) = report["dropped_rows"]
    assert dropped["row"] == 5 and dropped["reason"] == reason
    assert why in dropped["why"], dropped
    json.dumps(report).encode("utf-8")  # the report itself can be written (no lone surrogate quoted raw)


def test_past_the_threshold_or_nothing_left_is_one_line_naming_the_rows(tiny_tokenizer, tmp_path):
    lines = _good(20)
    for k, line in enumerate(ISSUE_BAD.values()):
        lines.insert(2 * k, line)
    path = _write(tmp_path / "bad.jsonl", lines)
    with pytest.raises(DatasetError) as err:
        _build(tiny_tokenizer, path)
    text = str(err.value)
    assert (
        "\n" not in text
        and "5 of 25 rows (20.0%) cannot be trained on, more than sft.max_dropped_fraction=0.05" in text
    )
    assert f"first: {path} row 0: " in text
    _build(tiny_tokenizer, path, max_dropped_fraction=0.2)  # at the threshold: trains
    with pytest.raises(DatasetError, match=r"produced no examples \(dropped 1 of 1 rows: .*\[unreadable\]"):
        _build(tiny_tokenizer, _write(tmp_path / "none.jsonl", ["{not json"]), max_dropped_fraction=1.0)


def test_sft_trains_past_bad_rows_and_refuses_before_the_model_loads(tmp_path, tiny_model_dir):
    lines = _good(200 - len(ISSUE_BAD))
    for k, line in enumerate(ISSUE_BAD.values()):
        lines.insert(40 * k + 1, line)
    data = _write(tmp_path / "export.jsonl", lines)
    recipe = write_recipe(tmp_path, tiny_model_dir, [data], {"layout": "full", "per_device_train_batch_size": 4})
    script = [sys.executable, str(REPO / "train" / "sft.py"), "--config", str(recipe), "save_strategy=no"]
    proc = subprocess.run([*script, "max_steps=1"], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "sft" / "train_summary.json").read_text())
    dropped = summary["dropped"]
    assert (
        summary["examples"] == 195
        and dropped["rows_dropped"] == 5
        and dropped["by_reason"] == {k: 1 for k in ISSUE_BAD}
    )
    assert sorted(d["row"] for d in dropped["dropped_rows"]) == [1, 41, 81, 121, 161]
    # Past the threshold: refused in one line, before the model loads (its weights are gone: loading would fail).
    broken = tmp_path / "no_weights"
    shutil.copytree(tiny_model_dir, broken)
    for weights in broken.glob("*.safetensors"):
        weights.unlink()
    recipe = write_recipe(tmp_path, broken, [data], {"layout": "full", "max_dropped_fraction": 0.01})
    proc = subprocess.run([*script[:3], str(recipe), "max_steps=1"], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(errors) == 1 and "5 of 200 rows (2.5%) cannot be trained on" in errors[0], proc.stderr[-2000:]
    assert "cannot load the model" not in proc.stderr
