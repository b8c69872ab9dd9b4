"""Question and answer files are checked on load: a data error names file, line and field.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_task_validation.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from funreason.envs import bfcl

from tests.cli import funreason, math_result_dir


def _bfcl_files(tmp_path, category="base", n=None):
    entries = bfcl.load_entries(category, language_hint=False)[:n]
    gt = bfcl.load_ground_truth(category)
    keep = ("id", "question", "initial_config", "involved_classes", "path", "missed_function")
    questions = [{k: e[k] for k in keep if k in e} for e in entries]
    for q in questions:  # the loader filled held-out docs in; a question file names them
        if q.get("missed_function"):
            q["missed_function"] = {t: [d["name"] for d in docs] for t, docs in q["missed_function"].items()}
    answers = [{"id": e["id"], "ground_truth": gt[e["id"]]} for e in entries]
    return questions, answers


def _write_rows(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_every_installed_bfcl_entry_passes_validation(tmp_path):
    from funreason.eval.tasks import load_tasks

    for category in ("base", "miss_func", "miss_param", "long_context"):
        q, a = _bfcl_files(tmp_path, category)
        qf, af = _write_rows(tmp_path / f"{category}_q.jsonl", q), _write_rows(tmp_path / f"{category}_a.jsonl", a)
        assert len(load_tasks(question_file=qf, answer_file=af)) == 200


QUESTION_DAMAGE = [
    (lambda e: e.update(question="hello"), r"field 'question' must be a list of turns, got str"),
    (lambda e: e.update(question=[{"role": "user", "content": "x"}]), r"field 'question\[0\]' must be a list"),
    (lambda e: e["question"][0][0].update(role="robot"), r"field 'question\[0\]\[0\]\.role' is 'robot'"),
    (lambda e: e["question"][0][0].update(content=None), r"field 'question\[0\]\[0\]\.content' must be a string"),
    (lambda e: e.update(initial_config=[1]), r"field 'initial_config' must be an object keyed by class, got list"),
    (
        lambda e: e["initial_config"].update(GorillaFileSytem={}),
        r"field 'initial_config\.GorillaFileSytem' names no class",
    ),
    (
        lambda e: e.update(missed_function={"1": ["no_such_tool"]}),
        r"field 'missed_function\.1' holds out 'no_such_tool'",
    ),
    (lambda e: e.update(missed_function={"9": ["ls"]}), r"field 'missed_function\.9' is not a turn of the question"),
]


@pytest.mark.parametrize(("damage", "message"), QUESTION_DAMAGE)
def test_malformed_question_entries_are_data_errors_naming_file_line_field(tmp_path, damage, message):
    from funreason.eval.tasks import DataError, load_tasks

    q, a = _bfcl_files(tmp_path, n=3)
    damage(q[1])
    qf, af = _write_rows(tmp_path / "q.jsonl", q), _write_rows(tmp_path / "a.jsonl", a)
    with pytest.raises(DataError, match=r"q\.jsonl line 2: " + message):
        load_tasks(question_file=qf, answer_file=af)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r.update(ground_truth="cd(folder='x')"), r"field 'ground_truth' must be a list of turns .*got str"),
        (lambda r: r.update(ground_truth=["cd(folder='x')"]), r"field 'ground_truth\[0\]' must be a list of call"),
        (lambda r: r["ground_truth"][0].append(7), r"field 'ground_truth\[0\]\[\d+\]' must be a call string, got int"),
        (lambda r: r["ground_truth"].pop(), r"field 'ground_truth' has \d+ turns, its question has \d+"),
    ],
)
def test_malformed_answers_are_data_errors_and_funreason_score_exits_2(tmp_path, damage, message):
    from funreason.eval.tasks import DataError, load_tasks

    q, a = _bfcl_files(tmp_path, n=3)
    damage(a[2])
    qf, af = _write_rows(tmp_path / "q.jsonl", q), _write_rows(tmp_path / "a.jsonl", a)
    with pytest.raises(DataError, match=r"a\.jsonl line 3: " + message):
        load_tasks(question_file=qf, answer_file=af)
    if "got str" in message:  # the whole command: one line, exit 2, no score written
        root = math_result_dir(tmp_path / "result", [])
        proc = funreason("score", "--result-dir", str(root), "--out", str(tmp_path / "score"),
                         "--question-file", str(qf), "--answer-file", str(af), timeout=120)  # fmt: skip
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and "a.jsonl line 3: field 'ground_truth'" in lines[0]
        assert not (tmp_path / "score").exists()
