"""Bad input for scoring (issue #24): what Python's own parsers and encoders choke on, in a result, question or
answer file, is a failed entry with a reason or a one-line error naming the file and line, never a traceback; score
files are valid JSON (strict: no NaN, UTF-8 without lone surrogates) whatever the model wrote.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_score_bad_input.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from funreason.core.errors import UserError
from funreason.core.jsonl import BadJson, BadLine, iter_jsonl, json_line, parse_json
from funreason.eval.score import score_results

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
ID = "multi_turn_base_0"
DEEP = "[" * 200_000 + "]" * 200_000
HUGE = "9" * 5000


def _strict(text: str):
    """json.loads that refuses what JSON itself has no spelling for (NaN, Infinity)."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))


def _row(result, **extra) -> str:
    return json.dumps({"id": ID, "result": result, **extra})


def _raw(**fields: str) -> str:
    """A JSON object from fields given as JSON text (what json.dumps cannot write: NaN-free, 200,000 levels...)."""
    return "{" + ", ".join(f'"{key}": {text}' for key, text in fields.items()) + "}"


# A model's output (or a result row) the parsers choke on -> a failed entry; `raw` is what the score file must keep.
ROWS = {
    "surrogate_pythonic": ("pythonic", _row([["[cd(folder='\ud800')]", "half an emoji: \ud83d"]])),
    "surrogate_hermes": (
        "hermes",
        _row([['<tool_call>{"name": "cd", "arguments": {"folder": "\udfff"}}</tool_call>']]),
    ),
    "surrogate_fc_name": ("fc", _row([[[{"cd\ud800": '{"folder": "\ud800"}'}]]])),
    "deep_pythonic_text": ("pythonic", _row([["[cd(folder=" + "[" * 150_000 + "]" * 150_000 + ")]"]])),
    "unary_chain_pythonic": ("pythonic", _row([["[cd(folder=" + "-" * 200_000 + "1)]"]])),
    "deep_hermes_text": (
        "hermes",
        _row([['<tool_call>{"name": "cd", "arguments": {"folder": ' + DEEP + "}}</tool_call>"]]),
    ),
    "deep_fc_arguments": ("fc", _row([[[{"cd": '{"folder": ' + DEEP + "}"}]]])),
    "huge_int_hermes": (
        "hermes",
        _row([['<tool_call>{"name": "cd", "arguments": {"folder": ' + HUGE + "}}</tool_call>"]]),
    ),
    "huge_int_fc": ("fc", _row([[[{"cd": '{"folder": ' + HUGE + "}"}]]])),
    "huge_int_pythonic": ("pythonic", _row([["[cd(folder=" + HUGE + ")]"]])),
    "nul_pythonic": ("pythonic", _row([["[cd(folder='a\x00b')]\x00"]])),
    "nan_fc_and_latency": ("fc", _raw(id=f'"{ID}"', result='[[[{"cd": {"folder": NaN}}]]]', latency="[[Infinity]]")),
    "bom": ("pythonic", "\ufeff" + _row([["All done."]])),
}
# A line that cannot be read at all -> one line naming the file and line.
LINES = {
    "deep_row": (_raw(id=f'"{ID}"', result=DEEP), "nested more than 100 levels deep"),
    "deep_enough_for_deepcopy": (  # json.loads reads 900 levels; copying or writing them later would not
        _raw(id=f'"{ID}"', result='[["x"]]', inference_log="[" * 900 + "]" * 900),
        "nested more than 100 levels deep",
    ),
    "huge_int_row": (_raw(id=f'"{ID}"', result='[["x"]]', latency=HUGE), "more than 4300 digits"),
    "not_utf8": (b'{"id": "' + ID.encode() + b'", "result": [["\xff\xfe"]]}', "not UTF-8 text (byte"),
    "utf16": (_row([["x"]]).encode("utf-16"), "UTF-16 text"),
}


def _results(root: Path, line: str | bytes) -> Path:
    d = root / "m" / "multi_turn"
    d.mkdir(parents=True)
    data = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
    (d / "BFCL_v4_multi_turn_base_result.json").write_bytes(data + b"\n")
    return root


def _score_lines(out: Path) -> list:
    raw = (out / "m" / "multi_turn" / "BFCL_v4_multi_turn_base_score.json").read_bytes()
    return [_strict(line) for line in raw.decode("utf-8").splitlines()]  # strict UTF-8: a raw surrogate fails here


@pytest.mark.parametrize("case", sorted(ROWS))
def test_outputs_python_chokes_on_are_failed_entries_in_valid_score_files(tmp_path, case):
    fmt, line = ROWS[case]
    root = _results(tmp_path / "result", line)
    summary = score_results(root, tmp_path / "score", fmt=fmt, categories=["multi_turn_base"], workers=1)
    assert summary["models"]["m"]["categories"]["multi_turn_base"]["total_count"] == 1
    header, *failed = _score_lines(tmp_path / "score")
    assert header["total_count"] == 1 and [f["id"] for f in failed] == [ID] and failed[0]["error"]
    written = failed[0].get("model_result_raw", failed[0].get("model_result"))
    if "surrogate" in case:  # what the model wrote comes back exactly, escaped (as ensure_ascii would write it)
        assert written == json.loads(line.removeprefix("\ufeff"))["result"]
    _strict((tmp_path / "score" / "m" / "diagnostics.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", sorted(LINES))
def test_unreadable_result_lines_are_one_error_naming_file_and_line(tmp_path, case):
    line, message = LINES[case]
    root = _results(tmp_path / "result", line)
    with pytest.raises(UserError) as err:
        score_results(root, tmp_path / "score", fmt="pythonic", categories=["multi_turn_base"], workers=1)
    text = str(err.value)
    assert "\n" not in text and "BFCL_v4_multi_turn_base_result.json:1: " in text and message in text, text


def test_funreason_score_the_issue_cases_exit_cleanly(tmp_path):
    """The two inputs that ended in a traceback: 200,000 levels of nesting, and a lone surrogate in an output."""
    deep = _results(tmp_path / "deep", LINES["deep_row"][0])
    proc = subprocess.run([sys.executable, "-m", "funreason", "score", "--result-dir", str(deep), "--out",
                           str(tmp_path / "s1"), "--partial-eval"], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert lines[0].startswith("funreason score: error: ") and "_result.json:1: nested more than" in lines[0]
    surrogate = _results(tmp_path / "surrogate", ROWS["surrogate_pythonic"][1])
    proc = subprocess.run([sys.executable, "-m", "funreason", "score", "--result-dir", str(surrogate), "--out",
                           str(tmp_path / "s2"), "--partial-eval"], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "0/1 (partial: 1 of 200)" in proc.stdout
    assert len(_score_lines(tmp_path / "s2")) == 2


def _question_files(tmp_path: Path) -> tuple[list, list]:
    from funreason.envs import bfcl

    entry = bfcl.load_entries("base", language_hint=False)[0]
    question = {k: entry[k] for k in ("id", "question", "initial_config", "involved_classes", "path") if k in entry}
    return [question], [{"id": entry["id"], "ground_truth": bfcl.load_ground_truth("base")[entry["id"]]}]


@pytest.mark.parametrize(
    ("which", "line", "message"),
    [
        (
            "question",
            lambda q: json.dumps({**q, "question": [[{"role": "user", "content": "hi \ud800"}]]}),
            "lone surrogate",
        ),
        ("question", lambda q: _raw(id=json.dumps(q["id"]), question=DEEP), "nested more than 100 levels deep"),
        ("answer", lambda a: _raw(id=json.dumps(a["id"]), ground_truth=HUGE), "more than 4300 digits"),
        ("answer", lambda a: "\ufeff" + json.dumps(a), None),  # a BOM is read past
    ],
)
def test_question_and_answer_files_name_the_line(tmp_path, which, line, message):
    from funreason.eval.tasks import load_tasks

    (q,), (a,) = _question_files(tmp_path)
    q_text = line(q) if which == "question" else json.dumps(q)
    a_text = line(a) if which == "answer" else json.dumps(a)
    qf, af = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    qf.write_bytes(q_text.encode("utf-8") + b"\n")
    af.write_bytes(a_text.encode("utf-8") + b"\n")
    if message is None:
        assert len(load_tasks(question_file=qf, answer_file=af)) == 1
        return
    with pytest.raises(UserError) as err:
        load_tasks(question_file=qf, answer_file=af)
    name = "q.jsonl" if which == "question" else "a.jsonl"
    assert "\n" not in str(err.value) and name in str(err.value) and "1" in str(err.value) and message in str(err.value)


def test_json_line_is_strict_json_equal_to_bfcls_writer_on_ordinary_rows():
    ordinary = {"id": "x", "result": [["é ✓ 😀", 1.5, None, True]], "n": {"1": [2]}}
    assert json_line(ordinary) == json.dumps(ordinary, ensure_ascii=False) + "\n"  # BFCL's own line, unchanged
    hostile = {"s": "\ud800", "nan": float("nan"), "inf": [float("-inf")], "set": {1}, "big": 10**5000, (1, 2): 3}
    back = _strict(json_line(hostile))
    assert back["s"] == "\ud800" and back["nan"] == "NaN" and back["inf"] == ["-Infinity"] and back["set"] == "{1}"
    assert back["big"].startswith("<an integer of") and back["(1, 2)"] == 3
    json_line(hostile).encode("utf-8")


def test_iter_jsonl_keeps_reading_past_bad_lines_when_asked(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{bad\n' + DEEP.encode() + b"\n[" + HUGE.encode() + b']\n{"b": 2}\n')
    rows = list(iter_jsonl(path, bad_lines="keep"))
    assert [n for n, _ in rows] == [1, 3, 4, 5, 6] and rows[0][1] == {"a": 1} and rows[-1][1] == {"b": 2}
    assert all(isinstance(r, BadLine) for _, r in rows[1:4])
    with pytest.raises(UserError, match=r"rows\.jsonl:3: not valid JSON"):
        list(iter_jsonl(path))
    with pytest.raises(BadJson, match="nested more than 3 levels"):
        parse_json("[[[[1]]]]", max_depth=3)
