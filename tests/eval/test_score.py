"""Scoring BFCL-format result files: self-replay, silence, hostile text, bad rows, score files and CSVs.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_score.py
"""

from __future__ import annotations

import inspect
import json
import random
from pathlib import Path

import pytest
from funreason.chat import hermes, pythonic
from funreason.chat.calls import ToolCall
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.envs.dispatch import parse_call
from funreason.eval.bfcl_layout import result_file_name
from funreason.eval.csvs import COLUMNS_MULTI_TURN, COLUMNS_OVERALL, write_leaderboard_csvs
from funreason.eval.score import main, score_results

from tests import bfcl_official as official
from tests.bfcl_damage import KINDS, damage

CATS = [bfcl.category_name(c) for c in bfcl.MULTI_TURN_CATEGORIES]


def _keyword_call(text: str, instances: dict) -> ToolCall:
    """A ground-truth call with positional arguments named through the backend method's signature."""
    call = parse_call(text)
    assert isinstance(call, ToolCall), call
    if not call.positional:
        return call
    method = next(getattr(i, call.name) for i in instances.values() if hasattr(i, call.name))
    names = [p for p in inspect.signature(method).parameters]
    return ToolCall(call.name, {**dict(zip(names, call.positional)), **call.arguments})


def _write_results(root: Path, model: str, rows_by_cat: dict[str, list[dict]]) -> Path:
    d = root / model / "multi_turn"
    d.mkdir(parents=True, exist_ok=True)
    for cat, rows in rows_by_cat.items():
        (d / result_file_name(cat)).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def gt_row(entry: dict, ground_truth: list[list[str]], fmt: str) -> dict:
    """One entry's ground truth written as a model's raw outputs: one call step per turn, then a closing text step."""
    instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
    render = pythonic.render_calls if fmt == "pythonic" else hermes.render_calls
    turns = []
    for turn in ground_truth:
        calls = [_keyword_call(c, instances) for c in turn]
        turns.append(([render(calls)] if calls else []) + ["All done."])
    return {"id": entry["id"], "result": turns, "latency": [[0.5] * len(t) for t in turns]}


def gt_rows(fmt: str) -> dict[str, list[dict]]:
    out = {}
    for cat in CATS:
        gt = bfcl.load_ground_truth(cat)
        out[cat] = [gt_row(e, gt[e["id"]], fmt) for e in bfcl.load_entries(cat, language_hint=False)]
    return out


def silent_rows() -> dict[str, list[dict]]:
    return {
        cat: [
            {"id": i, "result": [["I cannot help with that."] for _ in g]}
            for i, g in bfcl.load_ground_truth(cat).items()
        ]
        for cat in CATS
    }


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_ground_truth_result_files_score_800_of_800(tmp_path, fmt):
    root = _write_results(tmp_path / "result", f"gt-{fmt}", gt_rows(fmt))
    summary = score_results(root, tmp_path / "score", fmt=fmt, partial=False)
    cats = summary["models"][f"gt-{fmt}"]["categories"]
    assert sum(c["correct_count"] for c in cats.values()) == 800
    assert all(c["total_count"] == 200 and not c["partial"] for c in cats.values())
    score_file = tmp_path / "score" / f"gt-{fmt}" / "multi_turn" / "BFCL_v4_multi_turn_base_score.json"
    lines = score_file.read_text().splitlines()
    assert json.loads(lines[0]) == {"accuracy": 1.0, "correct_count": 200, "total_count": 200}
    assert len(lines) == 1
    csv = (tmp_path / "score" / "data_multi_turn.csv").read_text().split("\n")
    assert csv == [",".join(COLUMNS_MULTI_TURN), f"1,gt-{fmt},100.00%,100.00%,100.00%,100.00%,100.00%"]
    overall = (tmp_path / "score" / "data_overall.csv").read_text().split("\n")[1].split(",")
    assert overall[1] == "N/A"  # only multi-turn was run: no deflated Overall
    assert overall[COLUMNS_OVERALL.index("Multi Turn Acc")] == "100.00%"
    assert overall[COLUMNS_OVERALL.index("Latency Mean (s)")] == "0.5"
    assert (
        "N/A" in summary["models"][f"gt-{fmt}"]["overall_note"]
        and "deflated" in summary["models"][f"gt-{fmt}"]["overall_note"]
    )
    diag = json.loads(Path(summary["models"][f"gt-{fmt}"]["diagnostics"]).read_text())["overall"]
    assert diag["existing_tool_share"] == 1.0 and diag["turns_passed_share"] == 1.0
    assert 0.4 < diag["decodable_call_share"] < 0.8  # every turn also ends with a text step
    assert diag["first_failing_turn"] == {"passed": 800}


def test_silent_model_scores_zero_with_empty_turn_errors(tmp_path):
    root = _write_results(tmp_path / "result", "silent", silent_rows())
    summary = score_results(root, tmp_path / "score", fmt="pythonic")
    assert all(c["correct_count"] == 0 for c in summary["models"]["silent"]["categories"].values())
    lines = (tmp_path / "score" / "silent" / "multi_turn" / "BFCL_v4_multi_turn_miss_func_score.json").read_text()
    rows = [json.loads(x) for x in lines.splitlines()]
    assert rows[0] == {"accuracy": 0.0, "correct_count": 0, "total_count": 200} and len(rows) == 201
    failed = rows[1]
    assert failed["error"]["error_type"] == "multi_turn:empty_turn_model_response"
    assert set(failed) == {
        "id", "model_name", "test_category", "valid", "error", "prompt", "model_result_raw",
        "model_result_decoded", "possible_answer", "inference_log",
    }  # fmt: skip
    assert "function" not in failed["prompt"] and "missed_function" in failed["prompt"]
    assert failed["test_category"] == "multi_turn_miss_func" and failed["model_name"] == "silent"
    diag = json.loads((tmp_path / "score" / "silent" / "diagnostics.json").read_text())["overall"]
    assert diag["decodable_call_share"] == 0 and diag["existing_tool_share"] is None
    assert diag["error_types"] == {"multi_turn:empty_turn_model_response": 800}
    assert diag["turns_passed_share"] == 0


HOSTILE = {
    "pythonic": [
        "[ls(a=__import__('os').system('echo PWNED > {marker}') + 1)]",
        "[__import__('os').system('echo PWNED > {marker}')]",
        "[cd(folder=(lambda: __import__('os').system('echo PWNED > {marker}'))())]",
        "[ls(a=open('{marker}', 'w').write('PWNED'))]",
    ],
    "hermes": [
        '<tool_call>\n{{"name": "__import__(\'os\').system(\'echo PWNED > {marker}\') or ls", "arguments": {{}}}}\n</tool_call>',
        '<tool_call>\n{{"name": "ls", "arguments": {{"a": "__import__(\'os\').system(\'echo PWNED > {marker}\')"}}}}\n</tool_call>',
        '<tool_call>\n{{"name": "exec", "arguments": {{"source": "open(\'{marker}\', \'w\')"}}}}\n</tool_call>',
    ],
}


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_hostile_outputs_never_execute_and_scoring_continues(tmp_path, os_calls, fmt):
    marker = tmp_path / "pwned"
    good = gt_rows(fmt)["multi_turn_base"][:2]
    gt = bfcl.load_ground_truth("base")
    hostile = []
    for k, text in enumerate(HOSTILE[fmt]):
        entry_id = f"multi_turn_base_{10 + k}"
        hostile.append({"id": entry_id, "result": [[text.format(marker=marker)] for _ in gt[entry_id]]})
    root = _write_results(tmp_path / "result", "hostile", {"multi_turn_base": good + hostile})
    summary = score_results(root, tmp_path / "score", fmt=fmt)
    base = summary["models"]["hostile"]["categories"]["multi_turn_base"]
    assert (base["correct_count"], base["total_count"], base["partial"]) == (2, 2 + len(hostile), True)
    assert not marker.exists() and not os_calls


def _expect_error(tmp_path, text: str, match: str, partial: bool = True):
    d = tmp_path / "result" / "m" / "multi_turn"
    d.mkdir(parents=True, exist_ok=True)
    (d / "BFCL_v4_multi_turn_base_result.json").write_text(text)
    with pytest.raises(UserError, match=match):
        score_results(tmp_path / "result", tmp_path / "score", partial=partial)


def test_corrupt_or_missing_rows_name_the_file_and_line(tmp_path):
    ok = json.dumps({"id": "multi_turn_base_0", "result": [[]]}) + "\n"
    _expect_error(tmp_path, ok + "{not json\n", r"BFCL_v4_multi_turn_base_result\.json:2: not valid JSON")
    _expect_error(tmp_path, ok + '{"id": "multi_turn_base_1"}\n', r"result\.json:2: .*\"id\" and \"result\"")
    _expect_error(tmp_path, ok + ok, r"result\.json:2: duplicate id 'multi_turn_base_0' \(first on line 1\)")
    _expect_error(tmp_path, ok.replace("base_0", "base_999"), r"result\.json:1: id 'multi_turn_base_999' is not")
    _expect_error(tmp_path, ok, r"1 result rows for 200 entries .*missing e\.g\. multi_turn_base_1", partial=False)
    _expect_error(tmp_path, "\n", r"result\.json: no result rows")


def test_inference_error_rows_fail_without_decoding(tmp_path, capsys):
    rows = [{"id": "multi_turn_base_0", "result": "Error during inference: context length exceeded"}]
    root = _write_results(tmp_path / "result", "m", {"multi_turn_base": rows})
    assert main(["--result-dir", str(root / "m"), "--out", str(tmp_path / "score"), "--partial-eval"]) == 0
    assert "0/1 (partial: 1 of 200)" in capsys.readouterr().out
    lines = (tmp_path / "score" / "m" / "multi_turn" / "BFCL_v4_multi_turn_base_score.json").read_text().splitlines()
    failed = json.loads(lines[1])
    assert failed["error"]["error_type"] == "multi_turn:inference_error"
    assert failed["model_result"] == rows[0]["result"]


def test_csv_columns_ranking_and_na_match_bfcl(tmp_path):
    from bfcl_eval.constants import column_headers

    assert COLUMNS_MULTI_TURN == column_headers.COLUMNS_MULTI_TURN
    assert COLUMNS_OVERALL == column_headers.COLUMNS_OVERALL
    full = {c: {"accuracy": a, "total_count": 200} for c, a in zip(CATS, [0.5, 0.25, 0.125, 0.0])}
    table = {"a": {CATS[0]: {"accuracy": 0.9, "total_count": 200}}, "b": full, "c": dict(full, latency=[1.0, 3.0])}
    notes = write_leaderboard_csvs(table, tmp_path)
    rows = (tmp_path / "data_multi_turn.csv").read_text().split("\n")
    assert rows[1:] == [
        "1,b,21.88%,50.00%,25.00%,12.50%,0.00%",
        "2,c,21.88%,50.00%,25.00%,12.50%,0.00%",
        "3,a,N/A,90.00%,N/A,N/A,N/A",  # a missing category is N/A, never a deflated mean
    ]
    overall = {r.split(",")[2]: r.split(",") for r in (tmp_path / "data_overall.csv").read_text().split("\n")[1:]}
    assert overall["c"][4:8] == ["0.0", "2.0", "1.41", "2.9"]  # BFCL's local cost and latency statistics
    assert overall["a"][4:8] == ["N/A"] * 4
    assert "Multi-Turn" not in notes["b"].split("groups not (fully) run:")[1].split(".")[0]
    assert "Multi-Turn" in notes["a"]


# ------------------------------------------------- end-to-end parity: raw text -> decode -> check, vs bfcl_eval


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_scores_equal_official_pipeline_on_damaged_text(tmp_path, fmt):
    handler = official.prompting_handler() if fmt == "pythonic" else official.qwen_fc()
    rng = random.Random(7 if fmt == "pythonic" else 8)
    rows_by_cat, expected = {}, {}
    for cat in CATS:
        gt = bfcl.load_ground_truth(cat)
        entries = bfcl.load_entries(cat, language_hint=False)
        foreign = [c for e in entries[::41] for turn in gt[e["id"]] for c in turn]
        rows = []
        for k, entry in enumerate(entries[:60]):
            instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
            model = damage(gt[entry["id"]], rng, KINDS[k % len(KINDS)], foreign)
            turns = []
            for steps in model:
                texts = []
                for step in steps:
                    if fmt == "pythonic":
                        texts.append("[" + ", ".join(step) + "]")
                    else:
                        texts.append(hermes.render_calls([_keyword_call(c, instances) for c in step]))
                turns.append(texts + ["Let me know if you need anything else."])
            rows.append({"id": entry["id"], "result": turns})
            with official.instance_cache_cleared(f"e2e_{fmt}_{cat}_{k}") as name:
                verdict = official.evaluate_multi_turn_entry(
                    handler, entry["id"], json.loads(json.dumps(turns)), gt[entry["id"]], dict(entry), name, cat
                )
            expected[entry["id"]] = None if verdict["valid"] else verdict["error"]["error_type"]
        rows_by_cat[cat] = rows
    root = _write_results(tmp_path / "result", "m", rows_by_cat)
    score_results(root, tmp_path / "score", fmt=fmt)
    ours = dict.fromkeys(expected)
    for p in (tmp_path / "score" / "m" / "multi_turn").glob("*_score.json"):
        for line in p.read_text().splitlines()[1:]:
            row = json.loads(line)
            ours[row["id"]] = row["error"]["error_type"]
    differ = {i: (ours[i], expected[i]) for i in expected if ours[i] != expected[i]}
    assert not differ, f"{len(differ)} of {len(expected)} verdicts differ: {list(differ.items())[:3]}"
    assert len(set(expected.values())) >= 4, expected  # passes and several error types were exercised


def test_results_for_a_question_file_are_scored_against_that_file(tmp_path, capsys):
    """Entries from a BFCL-format question file (new ids, own answers) are scored against that file, not BFCL's."""
    bfcl.ensure_project_root()
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH

    questions = [json.loads(x) for x in (PROMPT_PATH / "BFCL_v4_multi_turn_base.json").read_text().splitlines()[:3]]
    answers = [json.loads(x) for x in (POSSIBLE_ANSWER_PATH / "BFCL_v4_multi_turn_base.json").read_text().splitlines()]
    by_id = {a["id"]: a for a in answers}
    ours = {q["id"]: f"multi_turn_base_{900 + i}" for i, q in enumerate(questions)}
    qf, af = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    qf.write_text("".join(json.dumps({**q, "id": ours[q["id"]]}) + "\n" for q in questions))
    af.write_text("".join(json.dumps({**by_id[q["id"]], "id": ours[q["id"]]}) + "\n" for q in questions))
    gt = bfcl.load_ground_truth("multi_turn_base")
    rows = [{**gt_row(q, gt[q["id"]], "pythonic"), "id": ours[q["id"]]} for q in questions]
    rows[1]["result"][0] = []  # one entry's first turn emptied: that entry fails
    root = _write_results(tmp_path / "result", "custom", {"multi_turn_base": rows})

    with pytest.raises(UserError, match="not an entry of BFCL"):  # BFCL's own data does not have these ids
        score_results(root, tmp_path / "score0", fmt="pythonic")
    assert main(["--result-dir", str(root), "--out", str(tmp_path / "score"), "--question-file", str(qf),
                 "--answer-file", str(af)]) == 0  # fmt: skip
    header = json.loads((tmp_path / "score" / "custom" / "multi_turn" / "BFCL_v4_multi_turn_base_score.json")
                        .read_text().splitlines()[0])  # fmt: skip
    assert header == {"accuracy": 2 / 3, "correct_count": 2, "total_count": 3}
    with pytest.raises(UserError, match="go together"):
        main(["--result-dir", str(root), "--out", str(tmp_path / "s2"), "--question-file", str(qf)])
