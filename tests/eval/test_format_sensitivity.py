"""format_sensitivity scoring: per-entry verdict parity with BFCL per return format and tag, whole score files equal
to `bfcl evaluate`'s, and decoding that neither runs model text nor backtracks exponentially.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_format_sensitivity.py

For each return format, 1,000 outputs made from the ground truth (tests/bfcl_ast_damage.py `prompting_output`: half
with the <TOOLCALL> tag, most of them damaged) get a verdict from `eval.single_turn.evaluate_entry` on
`eval.ast_decode.decode_prompting`'s decode and from bfcl_eval's own `_evaluate_single_ast_entry` with the prompting
handler (`default_decode_ast_prompting` with that return format and tag). Then all 5,200 cases, as one result file,
are scored by `funreason score` and by bfcl_eval's `evaluate_task`: the score files must match.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter

import pytest
from funreason.chat.format_sensitivity import config_of, parse_config
from funreason.chat.single_turn import functions_for
from funreason.core.errors import UserError
from funreason.eval import format_sensitivity
from funreason.eval.ast_decode import decode_prompting
from funreason.eval.json_xml_decode import _json_list_span, find_between
from funreason.eval.single_turn import evaluate_entry

from tests import bfcl_official as official
from tests.bfcl_ast_damage import RETURN_FORMATS, prompting_output

PER_FORMAT = 1000
BFCL_JSON_LIST = re.compile(r"\[\s*{.*?}\s*(?:,\s*{.*?}\s*)*\]", re.DOTALL)


def _prompt(case: dict) -> dict:
    return {**case, "function": functions_for(case)}  # as `bfcl evaluate` loads it: docs hinted once


def _official_row(raw, case: dict, gt: list, model_name: str):
    c = parse_config(config_of(case["id"]))
    try:
        return official.evaluate_ast_entry(
            official.prompting_handler(), case["id"], raw, gt, _prompt(case), model_name, "format_sensitivity",
            language=official.Language.PYTHON, return_format=official.ReturnFormat(c.return_format),
            has_tool_call_tag=c.tool_call_tag,
        )  # fmt: skip
    except Exception as exc:  # BFCL's checker raises on a few value types it never implemented
        return f"crash:{type(exc).__name__}"


def _outputs(return_format: str, seed: int):
    """PER_FORMAT (case, ground truth, output) triples over the configs with this return format, tag on and off."""
    rng = random.Random(seed)
    cases, truth = format_sensitivity._load()
    pool = [i for i in cases if parse_config(config_of(i)).return_format == return_format]
    rng.shuffle(pool)
    out = []
    while len(out) < PER_FORMAT:
        for case_id in pool[: PER_FORMAT - len(out)]:
            c = parse_config(config_of(case_id))
            raw = prompting_output(cases[case_id], truth[case_id], return_format, c.tool_call_tag, rng)
            out.append((cases[case_id], truth[case_id], raw))
    return out


@pytest.mark.parametrize("return_format", RETURN_FORMATS)
def test_verdicts_equal_official_evaluator(return_format):
    model = official.register_model("funreason_fs", underscore_to_dot=False)
    differ, rows_differ, seen, tags = [], [], Counter(), Counter()
    for case, gt, raw in _outputs(return_format, seed=len(return_format)):
        c = parse_config(config_of(case["id"]))
        tags[c.tool_call_tag] += 1
        row = _official_row(raw, case, gt, model)
        expected = row if isinstance(row, str) else (None if row["valid"] else row["error_type"])
        decoded = decode_prompting(raw, c.return_format, c.tool_call_tag)
        ours = evaluate_entry(
            case["id"], raw, _prompt(case), gt, "format_sensitivity", "pythonic", model, decoded=decoded,
            checker_category=case["id"].split(":")[-1],
        )  # fmt: skip
        got = None if ours["valid"] else ours["error_type"]
        seen[expected] += 1
        if got != expected:
            differ.append((case["id"], raw, got, expected))
        elif got and got != "ast_decoder:decoder_failed":  # decode-error messages quote different exceptions
            if json.loads(json.dumps(ours, default=str)) != json.loads(json.dumps(row, default=str)):
                rows_differ.append((case["id"], ours, row))
    assert not differ, f"{len(differ)} of {PER_FORMAT} verdicts differ, e.g. {differ[:3]}"
    assert not rows_differ, f"{len(rows_differ)} failed rows differ from BFCL's, e.g. {rows_differ[:1]}"
    assert tags[True] >= 300 and tags[False] >= 300, tags
    assert 0.15 < seen[None] / PER_FORMAT < 0.85, seen  # passes and failures of many kinds
    assert seen["ast_decoder:decoder_failed"] > 50 and len(seen) >= 10, seen
    if return_format == "json":  # valid JSON whose parameters are not an object
        assert seen["ast_decoder:decoder_wrong_output_format"] > 5, seen


def _write(root, model: str, rows: list[dict]):
    d = root / model / "format_sensitivity"
    d.mkdir(parents=True, exist_ok=True)
    (d / "BFCL_v4_format_sensitivity_result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_score_files_equal_bfcl_evaluate(tmp_path):
    """All 5,200 cases in one result file: `funreason score` writes BFCL's score file (header with per-config
    accuracies, max delta, variance and std; failed rows in id order), and a partial file scores as
    `bfcl evaluate --partial-eval` does."""
    from funreason.eval.score import score_results

    rng = random.Random(7)
    cases, truth = format_sensitivity._load()
    model = official.register_model("funreason_fs_file")
    rows = []
    for case_id, case in cases.items():
        c = parse_config(config_of(case_id))
        rows.append({"id": case_id, "result": prompting_output(case, truth[case_id], c.return_format, c.tool_call_tag, rng), "latency": 0.5})  # fmt: skip
    rng.shuffle(rows)  # row order in the file does not matter
    for name, subset, partial in (("full", rows, False), ("partial", rows[:300], True)):
        _write(tmp_path / name / "result", model, subset)
        summary = score_results(tmp_path / name / "result", tmp_path / name / "score", "pythonic", partial=partial)
        official.evaluate_task(
            "format_sensitivity", None, tmp_path / name / "bfcl", sorted(subset, key=lambda r: int(r["id"].split(":")[0].rsplit("_", 1)[1])),
            model, official.prompting_handler(), {}, allow_missing=partial,
        )  # fmt: skip
        ours = _lines(
            tmp_path / name / "score" / model / "format_sensitivity" / "BFCL_v4_format_sensitivity_score.json"
        )
        theirs = _lines(
            tmp_path / name / "bfcl" / model / "format_sensitivity" / "BFCL_v4_format_sensitivity_score.json"
        )
        assert ours[0] == theirs[0]  # header: counts, spread, per-config stats, in BFCL's key order
        assert list(ours[0]) == list(theirs[0])
        assert [r["id"] for r in ours[1:]] == [r["id"] for r in theirs[1:]]
        for a, b in zip(ours[1:], theirs[1:]):
            if a["error_type"] == "ast_decoder:decoder_failed":  # our message quotes our decoder's exception
                a, b = {**a, "error": None}, {**b, "error": None}
            assert a == json.loads(json.dumps(b)), a["id"]
        info = summary["models"][model]["categories"]["format_sensitivity"]
        assert info["dataset_size"] == 5200 and info["partial"] is partial
    full = _lines(tmp_path / "full" / "score" / model / "format_sensitivity" / "BFCL_v4_format_sensitivity_score.json")
    assert sum(k.startswith("ret_fmt=") for k in full[0]) == 26 and full[0]["total_count"] == 5200
    assert full[0]["accuracy_max_delta"] > 0 and full[0]["accuracy_std"] > 0


def test_hermes_and_fc_results_are_refused(tmp_path):
    from funreason.eval.score import score_results

    cases = list(format_sensitivity.load_cases())
    _write(tmp_path / "result", "m", [{"id": cases[0], "result": "[f(a=1)]"}])
    for fmt in ("hermes", "fc"):
        with pytest.raises(UserError, match="format_sensitivity runs only in the pythonic"):
            score_results(tmp_path / "result", tmp_path / "score", fmt)
    with pytest.raises(UserError, match="5200 entries of format_sensitivity"):
        score_results(tmp_path / "result", tmp_path / "score", "pythonic", partial=False)
    _write(tmp_path / "bad", "m", [{"id": "format_sensitivity_0:nope:simple_python_0", "result": "[]"}])
    with pytest.raises(UserError, match="is not an entry of BFCL format_sensitivity"):
        score_results(tmp_path / "bad", tmp_path / "score", "pythonic")


# ------------------------------------------------------------------ the decoders: BFCL's matches, linear, inert


def test_json_list_span_is_bfcls_regex_match():
    rng = random.Random(0)
    alphabet = "[]{},  \n\ta\"'"
    for _ in range(30_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        m = BFCL_JSON_LIST.search(text)
        assert _json_list_span(text) == (m.group(0) if m else None), text
    for start, end in (("<TOOLCALL>", "</TOOLCALL>"), ("<functions>", "</functions>")):
        for _ in range(3000):
            text = "".join(rng.choice([start, end, "x", "\n", "<"]) for _ in range(rng.randint(0, 8)))
            m = re.search(f"{start}(.*?){end}", text, re.DOTALL)
            span = find_between(text, start, end)
            assert (span and (text[span[0] + len(start) : span[1]], text[span[0] : span[1] + len(end)])) == (
                m and (m.group(1), m.group(0))
            ), text


def test_decoding_is_linear_where_bfcls_regex_backtracks_exponentially():
    # BFCL's json regex takes ~2x longer per "{}," here: 40 of them would take it days
    for text in ("[" + "{}," * 20_000 + "x", "<TOOLCALL>" * 20_000, "[{" * 20_000, "<functions>" * 20_000):
        for return_format in RETURN_FORMATS:
            t = time.perf_counter()
            decode_prompting(text, return_format, tool_call_tag=False)
            decode_prompting(text, return_format, tool_call_tag=True)
            assert time.perf_counter() - t < 2.0, (text[:20], return_format)


def test_hostile_outputs_never_execute(tmp_path, os_calls):
    marker = tmp_path / "pwned"
    bomb = '<!DOCTYPE f [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY g "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>'  # fmt: skip
    hostile = {
        "python": f"[f(a=__import__('os').system('touch {marker}') + 1)]",  # BFCL would eval this sum
        "json": f'[{{"function": "f", "parameters": {{"a": "__import__(\'os\').system(\'touch {marker}\')"}}}}]',
        "verbose_xml": f'<functions><function name="f"><params><param name="a" type="dict" value="__import__(\'os\').system(\'touch {marker}\')"/></params></function></functions>',
        "concise_xml": f'<functions><function name="f"><param name="a" type="array">[open("{marker}", "w")]</param><param name="b" type="string">&i;</param></function></functions>',
    }  # fmt: skip
    for return_format, text in hostile.items():
        for tag in (False, True):
            raw = f"<TOOLCALL>{text}</TOOLCALL>" if tag else text
            decoded, error = decode_prompting(raw, return_format, tag)
            assert return_format == "json" or error is not None, (return_format, decoded)
    # an entity-expansion bomb never reaches the parser: what it parses starts at <functions>, after any DOCTYPE
    decoded, error = decode_prompting(bomb + hostile["concise_xml"], "concise_xml")
    assert "undefined entity" in error
    assert not marker.exists() and not os_calls
