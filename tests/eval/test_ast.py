"""Single-turn AST / relevance scoring: per-entry verdict parity with BFCL's official evaluator, per group.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_ast.py

For each group, at least 1,000 outputs made from the ground truth (most of them damaged, in every format the group
is scored in) get a verdict from `eval.single_turn.evaluate_entry` and from bfcl_eval's own
`_evaluate_single_ast_entry` / `_evaluate_single_relevance_entry` with the real handler of that format (prompting:
`default_decode_ast_prompting`, Java/JS through its tree-sitter parsers; hermes: QwenFC; fc: the OpenAI FC
handler). The pass / error type of every entry must agree.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from funreason.eval.ast_checker import language_of
from funreason.eval.ast_decode import decode_ast
from funreason.eval.single_turn import evaluate_entry, load_category

from tests import bfcl_official as official
from tests.bfcl_ast_damage import DAMAGES, model_output, relevance_output

GROUPS = {
    "python": (["simple_python", "multiple", "parallel", "parallel_multiple"], ["pythonic", "hermes", "fc"]),
    "java": (["simple_java"], ["pythonic", "pythonic", "fc", "hermes"]),
    "javascript": (["simple_javascript"], ["pythonic", "pythonic", "fc", "hermes"]),
    "live": (["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"], ["pythonic", "hermes", "fc"]),
    "relevance": (["irrelevance", "live_irrelevance", "live_relevance"], ["pythonic", "hermes", "fc"]),
}
PER_GROUP = 1000


def _handler(fmt: str):
    return {"pythonic": official.prompting_handler, "hermes": official.qwen_fc, "fc": official.api_fc}[fmt]()


def _official_row(raw, entry, gt, category: str, fmt: str, model_name: str):
    """BFCL's verdict row ({"valid": True} on a pass), or a string where its evaluator raises."""
    handler = _handler(fmt)
    try:
        if "relevance" in category:
            v = official.evaluate_relevance_entry(handler, entry["id"], raw, entry, model_name, category)
        else:
            lang = language_of(category).upper()
            v = official.evaluate_ast_entry(
                handler, entry["id"], raw, gt, entry, model_name, category,
                language=official.Language[lang], return_format=official.ReturnFormat[lang],
            )  # fmt: skip
    except Exception as exc:  # BFCL's converters raise on types it never implemented
        return f"crash:{type(exc).__name__}"
    return v


def _official(raw, entry, gt, category: str, fmt: str, model_name: str):
    """BFCL's verdict: None (pass), an error type, or "crash:..." where its evaluator raises."""
    v = _official_row(raw, entry, gt, category, fmt, model_name)
    return v if isinstance(v, str) else (None if v["valid"] else v["error_type"])


def _cases(group: str, seed: int):
    categories, formats = GROUPS[group]
    rng = random.Random(seed)
    data = {c: load_category(c) for c in categories}
    out = []
    while len(out) < PER_GROUP:
        for category in categories:
            entries, gt = data[category]
            for entry_id, entry in entries.items():
                fmt = formats[len(out) % len(formats)]
                if "relevance" in category:
                    raw = relevance_output(entry, fmt, rng)
                else:
                    raw = model_output(entry, gt[entry_id], fmt, rng, language_of(category))
                out.append((category, entry_id, fmt, json.loads(json.dumps(raw))))
    return out, data


@pytest.mark.parametrize("group", list(GROUPS))
def test_verdicts_equal_official_evaluator(group):
    if group in ("java", "javascript"):
        pytest.importorskip("tree_sitter", reason="BFCL's Java/JS parsers need tree-sitter 0.21 (Python < 3.13)")
    cases, data = _cases(group, seed=len(group))
    plain = official.register_model("funreason_ast", underscore_to_dot=False)
    dotted = official.register_model("funreason_ast_fc", underscore_to_dot=True)
    differ, rows_differ, seen = [], [], Counter()
    for category, entry_id, fmt, raw in cases:
        entries, gt = data[category]
        u2d = fmt == "fc"  # as BFCL's API FC models: "." in tool names becomes "_"
        name = dotted if u2d else plain
        row = _official_row(raw, entries[entry_id], gt.get(entry_id), category, fmt, name)
        expected = row if isinstance(row, str) else (None if row["valid"] else row["error_type"])
        ours = evaluate_entry(entry_id, raw, entries[entry_id], gt.get(entry_id), category, fmt, name, u2d)
        got = None if ours["valid"] else ours["error_type"]
        # the whole failed row, BFCL's messages included, except where the message quotes a decoder's exception
        if got == expected and got and not got.startswith(("ast_decoder:decoder_failed", "relevance_error")):
            if json.loads(json.dumps(ours, default=str)) != json.loads(json.dumps(row, default=str)):
                rows_differ.append((entry_id, ours, row))
        if expected and expected.startswith("crash"):
            lang = language_of(category)
            expected = {"java": "type_error:java", "javascript": "type_error:js"}.get(lang, expected)
        seen[expected] += 1
        if got != expected:
            differ.append((category, entry_id, fmt, raw, got, expected))
    assert len(cases) >= PER_GROUP
    assert not differ, f"{len(differ)} of {len(cases)} verdicts differ, e.g. {differ[:3]}"
    assert not rows_differ, f"{len(rows_differ)} failed rows differ from BFCL's, e.g. {rows_differ[:1]}"
    # the outputs exercised passes and failures of many kinds
    assert 0.05 < seen[None] / len(cases) < 0.95, seen
    assert len(seen) >= (3 if group == "relevance" else 6), seen


def test_damage_kinds_cover_decoder_and_checker_failures():
    assert {"text", "bad_syntax", "wrong_name", "drop_call", "retype"} <= set(DAMAGES)


# ------------------------------------------------------------- whole files: layout, score files, errors, safety


def _write(root, model: str, category: str, rows: list[dict]):
    from funreason.eval.bfcl_layout import group_of

    d = root / model / group_of(category)
    d.mkdir(parents=True, exist_ok=True)
    (d / f"BFCL_v4_{category}_result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("fmt", ["pythonic", "hermes", "fc"])
def test_result_files_score_as_the_official_evaluator_counts(tmp_path, fmt):
    from funreason.eval.score import score_results

    rng = random.Random(5)
    cats = ["simple_python", "simple_java", "multiple", "live_parallel", "irrelevance", "live_relevance"]
    name = official.register_model("funreason_files", underscore_to_dot=fmt == "fc")
    expected = {}
    for category in cats:
        entries, gt = load_category(category)
        rows = []
        for entry_id, entry in list(entries.items())[:60]:
            if "relevance" in category:
                raw = relevance_output(entry, fmt, rng)
            else:
                raw = model_output(entry, gt[entry_id], fmt, rng, language_of(category))
            raw = json.loads(json.dumps(raw))
            rows.append({"id": entry_id, "result": raw, "latency": 0.25})
            expected[entry_id] = _official(raw, entry, gt.get(entry_id), category, fmt, name)
        _write(tmp_path / "result", name, category, rows)
    summary = score_results(tmp_path / "result", tmp_path / "score", fmt=fmt)
    got = dict.fromkeys(expected)
    for category in cats:
        group = "live" if category.startswith("live") else "non_live"
        lines = (tmp_path / "score" / name / group / f"BFCL_v4_{category}_score.json").read_text().splitlines()
        header = json.loads(lines[0])
        for line in lines[1:]:
            got[json.loads(line)["id"]] = json.loads(line)["error_type"]
        ids = list(load_category(category)[0])[:60]
        assert header["correct_count"] == sum(expected[i] is None for i in ids)
        assert summary["models"][name]["categories"][category]["dataset_size"] == len(load_category(category)[0])
    assert got == expected


def test_a_single_turn_file_in_the_wrong_format_is_refused(tmp_path):
    from funreason.core.errors import UserError
    from funreason.eval.score import score_results

    entries, gt = load_category("simple_python")
    rows = [
        {"id": i, "result": model_output(e, gt[i], "fc", random.Random(0), kind="none")} for i, e in entries.items()
    ]
    _write(tmp_path / "result", "m", "simple_python", rows)
    with pytest.raises(UserError, match=r"BFCL_v4_simple_python_result\.json: .* decode as --format fc"):
        score_results(tmp_path / "result", tmp_path / "score", fmt="pythonic")
    summary = score_results(tmp_path / "result", tmp_path / "score", fmt="fc", partial=False)
    # ground truth with optional parameters picked at random: all pass but where BFCL's answer marks a required
    # parameter optional (simple_python_200: leaving it out is "missing_required")
    assert summary["models"]["m"]["categories"]["simple_python"]["correct_count"] >= 395


def test_hostile_single_turn_outputs_never_execute(tmp_path, os_calls):
    from funreason.eval.score import score_results

    marker = tmp_path / "pwned"
    hostile = [
        f"[calculate_triangle_area(base=__import__('os').system('echo PWNED > {marker}') + 1, height=5)]",
        f"[calculate_triangle_area(base=(lambda: __import__('os').system('touch {marker}'))(), height=5)]",
        f"[calculate_triangle_area(base=open('{marker}', 'w').write('x'), height=5)]",
        "[calculate_triangle_area(base=10**10**10, height=5)]",
    ]
    rows = [{"id": f"simple_python_{i}", "result": text} for i, text in enumerate(hostile)]
    _write(tmp_path / "result", "m", "simple_python", rows)
    header = score_results(tmp_path / "result", tmp_path / "score")["models"]["m"]["categories"]["simple_python"]
    assert header["correct_count"] == 0 and header["total_count"] == 4
    assert not marker.exists() and not os_calls


def test_fc_files_tell_whether_the_model_writes_dotted_names_with_underscores(tmp_path):
    """BFCL reads underscore_to_dot from its model registry; for a user's files, the answers show it."""
    from funreason.eval.score import score_results

    entries, gt = load_category("simple_python")
    assert sum("." in e["function"][0]["name"] for e in entries.values()) > 50
    dotted_rows = []
    for i, e in entries.items():  # the answers as a model that keeps the dots writes them
        step = model_output(e, gt[i], "fc", random.Random(0), kind="none")
        dotted_rows.append({"id": i, "result": [{e["function"][0]["name"]: args} for c in step for args in c.values()]})
    underscored = [{"id": i, "result": model_output(e, gt[i], "fc", random.Random(0), kind="none")} for i, e in entries.items()]  # fmt: skip
    for name, rows, expected in (("dots", dotted_rows, False), ("underscores", underscored, True)):
        _write(tmp_path / name, name, "simple_python", rows)
        summary = score_results(tmp_path / name, tmp_path / f"score-{name}", fmt="fc", partial=False)
        info = summary["models"][name]
        assert info["underscore_to_dot"] is expected
        assert info["categories"]["simple_python"]["correct_count"] >= 395  # every name matches the expected form
        forced = score_results(tmp_path / name, tmp_path / f"forced-{name}", fmt="fc", underscore_to_dot=not expected)
        assert forced["models"][name]["categories"]["simple_python"]["correct_count"] < 350


# literal-free odd values (names, subscripts, nested calls, ...): BFCL's decoder evaluates nothing on these
ODD_PYTHONIC = [
    "[f(x=a[1, 2])]", "[f(x=a[1:2], y=b[::2])]", "[f(x=a[1])]", "[f(x=name, y=True, z=None)]", "[f(x=...)]",
    "[f(x=g(1, 2))]", "[f(x=g(k=1, j=[1, {'a': h(z=2)}]))]", "[f(x=-5, y=-2.5, z=+3)]", "[f(x=(1, (2, 3)))]",
    "[f(x={1: 'a', 'b': [None]})]", "[f(x={1, 2})]", "[f(x=a.b)]", "[f(x=f'{y}')]", "[f(x=1 < 2)]", "[f(**kw)]",
    "[f(1, 2, x=3)]", "[a.b.c(x=1)]", "f(x=1)", "```\n[f(x=1)]\n```", "'[f(x=1)]'", "[f(x=1)] trailing", "[]", "",
    "[f(x=[])]", "[f(x={})]", "[f(x={'a': {}})]", "[f(x={'a': {'b': {}}})]", "[f(x=not y)]", "[f(x=-y)]",
]  # fmt: skip


@pytest.mark.parametrize("text", ODD_PYTHONIC)
def test_pythonic_values_decode_as_bfcls_default_decode_ast_prompting(text):
    try:
        expected = official.default_decode_ast_prompting(text)
    except Exception:
        expected = None
    decoded, error = decode_ast(text, "pythonic", "python")
    assert (None if error else decoded) == expected


ODD_HERMES = [
    '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>',
    '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>\n<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call>',
    '<tool_call>{"name": "f", "arguments": {}}</tool_call>',  # no newlines: no block
    '<tool_call>\n{"name": "f", "arguments": "{\\"x\\": 1}"}\n</tool_call>',  # arguments as a JSON string
    '<tool_call>\n{"name": "f"}\n</tool_call>',
    '<tool_call>\n{"arguments": {}}\n</tool_call>',
    '<tool_call>\n[1, 2]\n</tool_call>',
    '<tool_call>\n{"name": 7, "arguments": {}}\n</tool_call>',
    '<tool_call>\n{"name": ["f"], "arguments": {}}\n</tool_call>',
    '<tool_call>\nnot json\n</tool_call>\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
    "I cannot help.", "", "<tool_call>\n", '<tool_call>\n{"name": "f", "arguments": null}\n</tool_call>',
]  # fmt: skip


@pytest.mark.parametrize("text", ODD_HERMES)
def test_hermes_outputs_decode_as_qwen_fc_decode_ast(text):
    try:
        expected = official.qwen_fc().decode_ast(text, None, False)
    except Exception:
        expected = None
    decoded, error = decode_ast(text, "hermes")
    assert (None if error else decoded) == expected
