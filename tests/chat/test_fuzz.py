"""Parsers are total and round-trip: any string gives calls or a typed error (never an exception, never a side
effect), and render -> parse gives the calls back, in both formats. About 11,000 generated and adversarial inputs.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_fuzz.py
"""

from __future__ import annotations

import keyword

import pytest
from funreason.chat import hermes, pythonic
from funreason.chat.calls import ParseResult, ToolCall
from funreason.chat.render import assistant_message, parse_assistant
from funreason.core.sections.chat import ChatOptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SENTINEL = "/tmp/funreason_chat_fuzz_pwned"


def check_result(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    assert isinstance(result.calls, list) and all(isinstance(c, ToolCall) for c in result.calls)
    assert isinstance(result.content, str)
    assert all(isinstance(w, str) for w in result.warnings)
    if result.ok:
        assert result.error_type is None
        for call in result.calls:
            assert isinstance(call.name, str) and isinstance(call.arguments, dict)
            assert all(isinstance(k, str) for k in call.arguments)
            call.to_python()  # every decoded call can be written as a call string
            call.to_python(style="fc")
    else:
        assert result.calls == []
        assert isinstance(result.error, str) and result.error
        assert isinstance(result.error_type, str) and result.error_type


def parse_everything(text: str, tools=None) -> None:
    check_result(pythonic.parse(text, mode="compat"))
    check_result(pythonic.parse(text, mode="strict", tools=tools))
    check_result(pythonic.parse(text, mode="strict"))
    check_result(hermes.parse(text))


# Python-ish and tag-ish fragments, glued at random: most outputs are near-misses of valid calls.
FRAGMENTS = [
    "[", "]", "(", ")", "{", "}", ",", "=", ":", "'", '"', "\\", "\n", " ", "`", "```python", "```",
    "f", "cd", "ls", "folder", "a", "b", "1", "-", "+", "*", "**", "/", "//", "%", "1e9", "0x1f", "True", "None",
    "...", "__import__('os')", "os.system('touch " + SENTINEL + "')", "lambda x: x", "[i for i in y]", "f'{x}'",
    "{1, 2}", "x[0]", "a.b.c", "not", "if", "else", "*args", "**kw", "yield", "await", "ünï", "日本", "\x00",
    "<tool_call>", "</tool_call>", "<tool_call>\n", "\n</tool_call>", '{"name": "f", "arguments": {}}',
    '"name"', '"arguments"', "<think>", "</think>", "9**9**9", "'a'*10**9", "2**-1", "1/0",
]  # fmt: skip
_fragment_text = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)
_mixed_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=20).map("".join)
TOOLS = [
    {"name": n, "description": "", "parameters": {"type": "dict", "properties": {"a": {}, "b": {}}}} for n in "fab"
]


@settings(max_examples=2500, **FAST)
@given(st.text(max_size=200))
def test_parsers_total_on_arbitrary_text(text):
    parse_everything(text, TOOLS)


@settings(max_examples=3000, **FAST)
@given(_fragment_text)
def test_parsers_total_on_python_and_tag_fragments(text):
    parse_everything(text, TOOLS)


@settings(max_examples=2000, **FAST)
@given(_mixed_text, st.booleans(), st.sampled_from(["hermes", "pythonic"]))
def test_parse_assistant_and_history_message_total(text, prefill, fmt):
    options = ChatOptions(tool_format=fmt, think_prefill=prefill)
    result = parse_assistant(text, options, TOOLS)
    check_result(result)
    assert result.reasoning is None or isinstance(result.reasoning, str)
    message = assistant_message(text, options, TOOLS)
    assert message["role"] == "assistant" and isinstance(message["content"], str)


ADVERSARIAL = [
    "",
    "[",
    "]",
    "[f(",
    "[f(a='unclosed)]",
    '[f(a="nested \'quotes\' \\" here")]',
    "[f(a='''triple''')]",
    "[__import__('os').system('touch " + SENTINEL + "')]",
    "[f(a=__import__('os').system('touch " + SENTINEL + "'))]",
    "[f(a=1 + __import__('os').system('touch " + SENTINEL + "'))]",
    "[f(a=(lambda: __import__('os').system('touch " + SENTINEL + "'))())]",
    "[f(a=lambda: 1)]",
    "[os.system(cmd='ls')]",
    "[f(a=().__class__.__base__.__subclasses__())]",
    "[f(a=[x for x in range(10**9)])]",
    "[f(a={k: v for k, v in y})]",
    "[f(a=f'{__import__(\"os\")}')]",
    "[f(a=9**9**9**9)]",
    "[f(a=10**100000)]",
    "[f(a=2**4096 * 2**4096)]",
    "[f(a='a' * 10**12)]",
    "[f(a=('a' * 10**5) * 10**5)]",
    "[f(a='%9999999999d' % 1)]",
    "[f(a=1.5 ** 100000)]",
    "[f(a=" + "1+" * 100_000 + "1)]",
    "[f(a=" + "-" * 100_000 + "1)]",
    "[f(a=" + "[" * 1000 + "]" * 1000 + ")]",
    "(" * 500 + ")" * 500,
    "[" * 100_000,
    "[f(a=1)]" * 20_000,
    "x" * 1_000_000,  # 1 MB
    "[f(a='" + "y" * 1_000_000 + "')]",  # 1 MB argument
    "[f(a='\x00')]\x00",
    "[f(a='\ud800')]",
    "[f(a=1)]\n```",
    "```python\n[f(a=1)]\n```",
    "<tool_call>\n{",
    '<tool_call>\n{"name": "f", "arguments": {"a": 1}}',
    '<tool_call>\n{"name": "f", "arguments": {"a": }}\n</tool_call>',
    "<tool_call>\n" + "[" * 100_000 + "\n</tool_call>",
    "<tool_call>\n" + '{"a":' * 50_000 + "1" + "}" * 50_000 + "\n</tool_call>",
    '<tool_call>\n{"name": null, "arguments": {}}\n</tool_call>',
    '<tool_call>\n{"name": "f", "arguments": "[1, 2]"}\n</tool_call>',
    '<tool_call>\n{"name": "f", "arguments": {"s": "\\ud800"}}\n</tool_call>',
    "<tool_call>\n" * 100_000,  # quadratic for the plain regex
    "<tool_call>\n\n</tool_call>" + "<tool_call>\n" * 100_000 + "\n</tool_call>",
    "<think>" * 1000 + "</think>" * 1000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_parsers_total_and_inert_on_adversarial_inputs(text):
    import os

    if os.path.exists(SENTINEL):
        os.remove(SENTINEL)
    parse_everything(text, TOOLS)
    for fmt in ("hermes", "pythonic"):
        for prefill in (False, True):
            check_result(parse_assistant(text, ChatOptions(tool_format=fmt, think_prefill=prefill), TOOLS))
    assert not os.path.exists(SENTINEL), "parsing executed model text"


def test_unsafe_inputs_are_typed_errors_not_calls():
    for text in (
        ADVERSARIAL[9:10] + ADVERSARIAL[11:12] + ["[f(a=9**9**9**9)]", "[f(a='a' * 10**12)]", "[f(a=10**100000)]"]
    ):
        result = pythonic.parse(text)
        assert result.error_type in {"unsafe_expression", "unsupported_value"}, (text, result)
    # compat names a call the way BFCL does (the attribute chain down to a plain name): a mere string that the
    # dispatcher's allow-list refuses; strict rejects attribute calls outright
    assert pythonic.parse(ADVERSARIAL[7]).calls == [ToolCall("system", {})]
    assert pythonic.parse(ADVERSARIAL[7], mode="strict").error_type == "bad_call"
    # a nested call without keywords decodes to its source text in BFCL: an inert string, never run
    assert pythonic.parse(ADVERSARIAL[8]).calls[0].arguments["a"].startswith("__import__('os')")
    assert pythonic.parse(ADVERSARIAL[8], mode="strict").error_type == "unsupported_value"
    assert pythonic.parse("[f(a=" + "1+" * 300 + "1)]").calls == [ToolCall("f", {"a": 301})]
    for depth in (3000, 100_000):  # too deep for Python's parser or for our evaluator: a typed error either way
        assert pythonic.parse("[f(a=" + "1+" * depth + "1)]").error_type in {"syntax", "too_complex"}
    assert pythonic.parse("[f(a=2 ** 10, b=-3 + 0.5, c='ab' * 2)]").calls == [
        ToolCall("f", {"a": 1024, "b": -2.5, "c": "abab"})
    ]


# ---- round trip ----

_ident = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))
_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
_json_value = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
# Python literals: tuples too, int keys; non-empty dicts only in compat (BFCL's decoder fails on an empty one).
_py_scalar = st.one_of(_json_scalar, st.just(-0.0))
_py_value = st.recursive(
    _py_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-9, 9)), inner, min_size=1, max_size=4),
    ),
    max_leaves=12,
)
_py_value_any_dict = st.recursive(
    _py_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=400, **FAST)
@given(
    st.lists(st.builds(ToolCall, name=_ident, arguments=st.dictionaries(_ident, _json_value, max_size=5)), max_size=4)
)
def test_hermes_round_trip(calls):
    result = hermes.parse(hermes.render_calls(calls))
    assert result.ok and result.content == "" and result.warnings == []
    assert result.calls == calls


@settings(max_examples=400, **FAST)
@given(st.lists(st.builds(ToolCall, name=_ident, arguments=st.dictionaries(_ident, _py_value, max_size=5)), max_size=4))
def test_pythonic_compat_round_trip(calls):
    result = pythonic.parse(pythonic.render_calls(calls), mode="compat")
    assert result.ok, result.error
    assert result.calls == calls


@settings(max_examples=300, **FAST)
@given(
    st.lists(
        st.builds(
            ToolCall,
            name=_ident,
            arguments=st.dictionaries(_ident, _py_value_any_dict, max_size=4),
            positional=st.lists(_py_value_any_dict, max_size=2).map(tuple),
        ),
        max_size=3,
        unique_by=lambda c: c.name,
    )
)
def test_pythonic_strict_round_trip(calls):
    # without tools, positional arguments stay positional; with the schema they are mapped to names
    assert pythonic.parse(pythonic.render_calls(calls), mode="strict").calls == calls
    docs = []
    for call in calls:
        names = [f"p{i}" for i in range(len(call.positional))] + list(call.arguments)
        docs.append({"name": call.name, "parameters": {"type": "dict", "properties": {n: {} for n in names}}})
    mapped = pythonic.parse(pythonic.render_calls(calls), mode="strict", tools=docs)
    assert mapped.ok or any(set(c.arguments) & {f"p{i}" for i in range(len(c.positional))} for c in calls)
    if mapped.ok:
        expected = [
            ToolCall(c.name, {**{f"p{i}": v for i, v in enumerate(c.positional)}, **c.arguments}) for c in calls
        ]
        assert mapped.calls == expected


@settings(max_examples=1500, **FAST)
@given(st.lists(st.sampled_from(["<tool_call>", "</tool_call>", "\n", "x", "{}", " "]), max_size=30).map("".join))
def test_hermes_block_finder_matches_bfcl_regex(text):
    assert [inner for _, _, inner in hermes.find_blocks(text)] == hermes.TOOL_CALL_RE.findall(text)
    result = hermes.parse(text)
    if result.ok:
        rest = hermes.TOOL_CALL_RE.sub("", text)
        assert result.content == (rest.rstrip() if result.calls or rest != text else text)
