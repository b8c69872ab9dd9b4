"""BFCL's FC result layout (`[{name: "<JSON args>"}]` per step): decoding, scoring, parity, wrong-format errors.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_fc.py
"""

from __future__ import annotations

import json
import random

import pytest
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval import fc
from funreason.eval.score import main, score_results
from funreason.eval.step_decode import decode_result

from tests import bfcl_official as official
from tests.bfcl_damage import KINDS, damage
from tests.eval.test_score import CATS, _keyword_call, _write_results, gt_row

# Every way a step can look in an FC file (and then some): BFCL's decoder must raise, return [] or calls for each.
ODD_STEPS = [
    [{"ls": "{}"}],
    [{"cd": '{"folder": "document"}'}, {"ls": '{"a": true}'}],
    {"cd": '{"folder": "temp"}'},  # one call not wrapped in a list
    [{"cd": '{"folder": "a"}', "ls": "{}"}],  # two calls in one dict
    [{"cd": {"folder": "b"}}],  # arguments already decoded
    [{"mv": '{"source": "a.txt", "destination": "b 1.txt", "n": [1, 2.5, null], "d": {"k": "v"}}'}],
    [{"ls": '{"a": NaN}'}],  # json.loads accepts NaN; repr gives the bare name nan
    [{"ls": "[1, 2]"}],  # arguments that are not an object
    [{"ls": "null"}],
    [{"ls": "{not json"}],
    [{"ls": 5}],
    [{}],
    [],
    "",
    "The file is moved.",
    "Error during inference: context length exceeded",
    None,
    7,
    [["ls", "{}"]],
    ["ls()"],
    [{"__import__('os').system('echo x') or ls": "{}"}],  # the name is inserted raw into the call string
]


@pytest.mark.parametrize("step", ODD_STEPS, ids=range(len(ODD_STEPS)))
def test_decode_execute_equals_convert_to_function_call(step):
    try:
        expected = official.convert_to_function_call(json.loads(json.dumps(step)))
    except Exception:
        expected = None
    assert fc.decode_execute(step) == expected


@pytest.mark.parametrize("step", ODD_STEPS, ids=range(len(ODD_STEPS)))
def test_decode_ast_equals_openai_fc_handler(step):
    try:
        expected = official.api_fc().decode_ast(json.loads(json.dumps(step)), None, False)
    except Exception:
        expected = None
    got = fc.decode_ast(step)
    assert json.dumps(got) == json.dumps(expected)  # NaN compares unequal to itself; its JSON text does not


def fc_step(calls: list[str], instances: dict) -> list[dict]:
    """A step of call strings as an FC model writes it: one {name: JSON arguments} per call."""
    step = []
    for text in calls:
        call = _keyword_call(text, instances)
        step.append({call.name: json.dumps(call.arguments)})
    return step


def test_ground_truth_in_fc_layout_scores_800_of_800(tmp_path):
    rows_by_cat = {}
    for cat in CATS:
        gt = bfcl.load_ground_truth(cat)
        rows = []
        for entry in bfcl.load_entries(cat, language_hint=False):
            instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
            turns = [([fc_step(t, instances)] if t else []) + ["All done."] for t in gt[entry["id"]]]
            rows.append({"id": entry["id"], "result": turns})
        rows_by_cat[cat] = rows
    root = _write_results(tmp_path / "result", "gt-fc", rows_by_cat)
    summary = score_results(root, tmp_path / "score", fmt="fc", partial=False)
    cats = summary["models"]["gt-fc"]["categories"]
    assert [c["correct_count"] for c in cats.values()] == [200, 200, 200, 200]


def test_verdicts_equal_official_fc_pipeline_on_damaged_results(tmp_path):
    """Ground truth in FC layout, damaged, with text steps, odd steps and inference-error rows mixed in:
    each entry's verdict (pass or error type) equals `_evaluate_single_multi_turn_entry` with BFCL's FC handler."""
    handler = official.api_fc()
    rng = random.Random(11)
    odd = [
        s for s in ODD_STEPS if not (isinstance(s, list) and s and isinstance(s[0], dict) and "__import__" in str(s))
    ]
    rows_by_cat, expected = {}, {}
    for cat in CATS:
        gt = bfcl.load_ground_truth(cat)
        entries = bfcl.load_entries(cat, language_hint=False)
        foreign = [c for e in entries[::41] for turn in gt[e["id"]] for c in turn]
        rows = []
        for k, entry in enumerate(entries[:70]):
            instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
            model = damage(gt[entry["id"]], rng, KINDS[k % len(KINDS)], foreign)
            turns = []
            for steps in model:
                texts = [fc_step(step, instances) for step in steps]
                if rng.random() < 0.3:  # an odd step somewhere in the turn
                    texts.insert(rng.randrange(len(texts) + 1), rng.choice(odd))
                turns.append(texts + [rng.choice(["Done.", "", [], "Let me know."])])
            result = turns if k % 23 else f"Error during inference: {rng.random()}"
            rows.append({"id": entry["id"], "result": result})
            with official.instance_cache_cleared(f"fc_{cat}_{k}") as name:
                verdict = official.evaluate_multi_turn_entry(
                    handler, entry["id"], json.loads(json.dumps(result)), gt[entry["id"]], dict(entry), name, cat
                )
            expected[entry["id"]] = None if verdict["valid"] else verdict["error"]["error_type"]
        rows_by_cat[cat] = rows
    root = _write_results(tmp_path / "result", "m", rows_by_cat)
    score_results(root, tmp_path / "score", fmt="fc")
    ours = dict.fromkeys(expected)
    for p in (tmp_path / "score" / "m" / "multi_turn").glob("*_score.json"):
        for line in p.read_text().splitlines()[1:]:
            row = json.loads(line)
            ours[row["id"]] = row["error"]["error_type"]
    differ = {i: (ours[i], expected[i]) for i in expected if ours[i] != expected[i]}
    assert not differ, f"{len(differ)} of {len(expected)} verdicts differ: {list(differ.items())[:3]}"
    assert len(set(expected.values())) >= 5, expected  # passes, inference errors and several failure kinds


def test_decoded_calls_in_score_files_are_bfcl_call_strings(tmp_path):
    entry_id = "multi_turn_base_0"
    result = [[[{"cd": '{"folder": "nowhere"}'}], "ok"]] + [[] for _ in bfcl.load_ground_truth("base")[entry_id][1:]]
    assert decode_result(result, "fc")[0] == [["cd(folder='nowhere')"]]
    root = _write_results(tmp_path / "result", "m", {"multi_turn_base": [{"id": entry_id, "result": result}]})
    score_results(root, tmp_path / "score", fmt="fc")
    line = (tmp_path / "score" / "m" / "multi_turn" / "BFCL_v4_multi_turn_base_score.json").read_text().splitlines()[1]
    assert json.loads(line)["model_result_decoded"][0] == [["cd(folder='nowhere')"]]


# ------------------------------------------------------------------------------------- wrong-format detection


def _text_rows(fmt: str, n: int) -> list[dict]:
    gt = bfcl.load_ground_truth("base")
    return [gt_row(e, gt[e["id"]], fmt) for e in bfcl.load_entries("base", language_hint=False)[:n]]


def _fc_rows(n: int) -> list[dict]:
    gt = bfcl.load_ground_truth("base")
    rows = []
    for entry in bfcl.load_entries("base", language_hint=False)[:n]:
        instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
        rows.append({"id": entry["id"], "result": [[fc_step(t, instances), "Done."] for t in gt[entry["id"]]]})
    return rows


@pytest.mark.parametrize(
    ("written", "scored_as"), [("fc", "pythonic"), ("fc", "hermes"), ("pythonic", "fc"), ("hermes", "pythonic")]
)
def test_a_file_scored_in_the_wrong_format_is_refused_with_the_right_one(tmp_path, written, scored_as):
    rows = _fc_rows(20) if written == "fc" else _text_rows(written, 20)
    root = _write_results(tmp_path / "result", "m", {"multi_turn_base": rows})
    with pytest.raises(UserError, match=rf"BFCL_v4_multi_turn_base_result\.json: .* do not decode as --format "
                                        rf"{scored_as}, \d+ decode as --format {written}"):  # fmt: skip
        score_results(root, tmp_path / "score", fmt=scored_as)
    assert not (tmp_path / "score" / "m" / "multi_turn" / "BFCL_v4_multi_turn_base_score.json").exists()


def test_cli_names_the_file_and_format(tmp_path, capsys):
    root = _write_results(tmp_path / "result", "m", {"multi_turn_base": _fc_rows(10)})
    with pytest.raises(UserError, match="--format fc"):
        main(["--result-dir", str(root), "--out", str(tmp_path / "score"), "--format", "pythonic"])
    assert main(["--result-dir", str(root), "--out", str(tmp_path / "s2"), "--format", "fc", "--partial-eval"]) == 0
    assert "10/10 (partial: 10 of 200)" in capsys.readouterr().out


def test_files_without_calls_or_with_few_odd_steps_are_still_scored(tmp_path):
    """A silent or chatting model scores its 0 %; a few steps in another format among many do not stop scoring."""
    gt = bfcl.load_ground_truth("base")
    silent = [{"id": i, "result": [["I cannot do that.", ""] for _ in g]} for i, g in list(gt.items())[:30]]
    root = _write_results(tmp_path / "r1", "m", {"multi_turn_base": silent})
    for fmt in ("pythonic", "hermes", "fc"):
        assert score_results(root, tmp_path / f"s-{fmt}", fmt=fmt)["models"]["m"]["categories"]
    mixed = _text_rows("pythonic", 30)
    entry = bfcl.load_entries("base", language_hint=False)[0]
    for row in mixed[:3]:  # three FC-layout steps among ~100 pythonic ones
        row["result"][0].insert(0, fc_step(gt[entry["id"]][0], {}))
    root = _write_results(tmp_path / "r2", "m", {"multi_turn_base": mixed})
    header = score_results(root, tmp_path / "s", fmt="pythonic")["models"]["m"]["categories"]["multi_turn_base"]
    assert header["total_count"] == 30


def test_ground_truth_row_helper_still_covers_all_formats():
    # the gt rows used above for pythonic/hermes are text; FC rows are lists of dicts: the check tells them apart
    row = gt_row(bfcl.load_entries("base", language_hint=False)[0], bfcl.load_ground_truth("base")["multi_turn_base_0"],
                 "hermes")  # fmt: skip
    assert all(isinstance(s, str) for t in row["result"] for s in t)
    assert fc.decode_execute(row["result"][0][0]) is None  # a hermes text step is not FC layout


def test_the_format_prefilter_never_hides_a_decodable_step():
    """`could_hold_calls` lets the wrong-format check skip decoding; it must be True wherever a decoder finds a call."""
    from funreason.eval.format_check import FORMATS, could_hold_calls
    from funreason.eval.step_decode import decode_step

    steps = list(ODD_STEPS)
    for fmt in ("pythonic", "hermes"):
        steps += [s for row in _text_rows(fmt, 5) for turn in row["result"] for s in turn]
    steps += [s for row in _fc_rows(5) for turn in row["result"] for s in turn]
    steps += ["ls()", "[ls(a=True)]", "```\n[cd(folder='x')]\n```", "<tool_call>\n{}\n</tool_call>", "(", ")"]
    decodable = 0
    for step in steps:
        for fmt in FORMATS:
            if decode_step(step, fmt):
                decodable += 1
                assert could_hold_calls(step, fmt), (fmt, step)
    assert decodable > 30


def test_hostile_fc_steps_never_execute(tmp_path, os_calls):
    marker = tmp_path / "pwned"
    hostile = [
        [{f"__import__('os').system('touch {marker}') or ls": "{}"}],
        [{"ls": json.dumps({"a": f"__import__('os').system('touch {marker}')"})}],
        [{"exec": json.dumps({"source": f"open('{marker}', 'w')"})}],
        [{f"ls(a=__import__('os').system('touch {marker}'))": "{}"}],
    ]
    gt = bfcl.load_ground_truth("base")
    rows = _fc_rows(6)
    for k, step in enumerate(hostile):
        entry_id = f"multi_turn_base_{20 + k}"
        rows.append({"id": entry_id, "result": [[step] for _ in gt[entry_id]]})
    root = _write_results(tmp_path / "result", "m", {"multi_turn_base": rows})
    header = score_results(root, tmp_path / "score", fmt="fc")["models"]["m"]["categories"]["multi_turn_base"]
    assert (header["correct_count"], header["total_count"]) == (6, 10)
    assert not marker.exists() and not os_calls


def test_bfcl_v3_result_files_are_named_not_silently_skipped(tmp_path):
    d = tmp_path / "result" / "gpt-4o-2024-08-06-FC"
    d.mkdir(parents=True)
    (d / "BFCL_v3_multi_turn_base_result.json").write_text('{"id": "multi_turn_base_0", "result": []}\n')
    with pytest.raises(UserError, match=r"BFCL_v3_multi_turn_base_result\.json: a BFCL v3 result file"):
        score_results(tmp_path / "result", tmp_path / "score", fmt="fc")
