"""Reliability, second round (issue #19): eval run identity per label, tool-call limits, linear rendering and
max_length accounting, question/answer validation, retried teacher faults, schema-checked SFT calls.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_reliability2.py
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import RecipeError
from core.sections.execution import ExecutionLimits
from envs import bfcl
from envs.dispatch import LIMIT_COUNTS, Dispatcher, is_limit_error

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
HOSTILE = ["logarithm(value=2, base=3, precision=1000000)", "power(base=10, exponent=10000000)"]


def funreason(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "funreason", *args], cwd=REPO, env=ENV, capture_output=True, text=True, **kw
    )


# --- tool execution limits --------------------------------------------------------------------------------------
def test_hostile_math_calls_are_stopped_in_seconds_and_the_next_call_runs():
    dispatcher = Dispatcher(bfcl.new_backends({}, ["MathAPI"]), limits=ExecutionLimits(call_timeout_s=1.0))
    before = LIMIT_COUNTS.copy()
    for call in HOSTILE + ["square_root(number=2, precision=1000000)"]:
        t0 = time.monotonic()
        result = dispatcher.execute(call)
        assert time.monotonic() - t0 < 3, call
        assert is_limit_error(result), result
    assert "precision=1000000 is over the limit of 10000 digits (execution.max_precision)" in (
        dispatcher.execute(HOSTILE[0])
    )
    # the timer stops what the precision cap lets through: power is plain Python integer arithmetic
    assert "power() took longer than 1 s (execution.call_timeout_s)" in dispatcher.execute(HOSTILE[1])
    assert LIMIT_COUNTS["precision"] - before["precision"] == 3
    assert LIMIT_COUNTS["timeout"] - before["timeout"] == 2
    # the stage goes on: ordinary calls still run, at ordinary precision
    assert dispatcher.execute("logarithm(value=8, base=2, precision=10)").startswith("{'result': mpf('3.0000")
    assert dispatcher.execute("power(base=2, exponent=10)") == '{"result": 1024}'


def test_timeout_cannot_be_swallowed_by_the_tool_and_restores_an_outer_timer():
    import signal

    class Sleepy:
        def spin(self) -> dict:
            """Loop forever, catching every Exception."""
            while True:
                try:
                    time.sleep(0.01)
                except Exception:
                    pass

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        result = Dispatcher({"Sleepy": Sleepy()}, limits=ExecutionLimits(call_timeout_s=0.2)).execute("spin()")
        assert (
            result == "Error during execution: call stopped: spin() took longer than 0.2 s (execution.call_timeout_s)"
        )
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 20  # the caller's timer is back
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired


def test_argument_size_caps_refuse_before_parsing_or_running():
    calls = []

    class Echo:
        def echo(self, content: str) -> str:
            """Echo."""
            calls.append(content)
            return content

    dispatcher = Dispatcher({"Echo": Echo()}, limits=ExecutionLimits(max_arg_chars=1000))
    assert dispatcher.execute("echo(content='ok')") == "ok"
    text = dispatcher.execute("echo(content='" + "x" * 5000 + "')")
    assert text.startswith("Error during execution: call stopped: the call is 5016 characters, over the limit of 1000")
    from chat.calls import ToolCall

    nested = ToolCall("echo", {"content": ["y" * 300] * 10})
    assert "arguments of echo() are over the limit of 1000" in dispatcher.execute(nested)
    assert calls == ["ok"]


def test_limits_are_validated_recipe_keys():
    with pytest.raises(RecipeError, match=r"execution.call_timeout_s must be >= 0, got -1"):
        ExecutionLimits(call_timeout_s=-1)


def _math_results(root: Path, lines: list[str]) -> Path:
    d = root / "m" / "multi_turn"
    d.mkdir(parents=True)
    rows = [{"id": "multi_turn_base_31", "result": [[f"[{line}]" for line in lines], []]}]
    (d / "BFCL_v4_multi_turn_base_result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.mark.parametrize("line", HOSTILE)
def test_funreason_score_finishes_hostile_calls_in_seconds_with_a_verdict(tmp_path, line):
    root = _math_results(tmp_path / "result", [line])
    t0 = time.monotonic()
    proc = funreason(
        "score", "--result-dir", str(root), "--out", str(tmp_path / "score"), "--partial-eval",
        "--call-timeout-s", "2", timeout=120,
    )  # fmt: skip
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert wall < 60, wall  # the unlimited logarithm ran for minutes; the timer / cap stop it at once or after 2 s
    assert "0/1 (partial: 1 of 200)" in proc.stdout
    assert "replayed calls stopped by execution limits" in proc.stdout
    diag = json.loads((tmp_path / "score" / "m" / "diagnostics.json").read_text())
    assert diag["overall"]["calls_stopped_by_limits"] >= 1


# --- rendering is linear in the conversation's length ---------------------------------------------------------------
LS_DOC = [
    {
        "name": "ls",
        "description": "List files.",
        "parameters": {"type": "dict", "properties": {"a": {"type": "boolean", "description": "all"}}, "required": []},
    }
]


def long_conversation(turns: int) -> list[dict]:
    messages = [{"role": "user", "content": "list the files"}]
    call = {"type": "function", "function": {"name": "ls", "arguments": {"a": True}}}
    for _ in range(turns):
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        messages.append({"role": "tool", "name": "ls(a=True)", "content": '{"current_directory_content": ["a"]}'})
    messages.append({"role": "assistant", "content": "done"})
    return messages


def _render_seconds(tokenizer, messages, options, repeats: int) -> float:
    from chat.render import render_example

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        render_example(tokenizer, messages, LS_DOC, options, train="all")
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_rendering_is_linear_in_the_message_count(tiny_tokenizer, fmt):
    from core.sections.chat import ChatOptions

    options = ChatOptions(tool_format=fmt)
    small = _render_seconds(tiny_tokenizer, long_conversation(100), options, repeats=5)  # 202 messages
    large = _render_seconds(tiny_tokenizer, long_conversation(1500), options, repeats=1)  # 3,002 messages
    # 15x the messages: linear is ~15x the time; the old prefix-by-prefix rendering was ~200x (1,800 messages 13.5 s)
    assert large / small < 45, (small, large)


def test_windowed_bounds_equal_prefix_bounds_and_a_non_local_template_falls_back(tiny_tokenizer, monkeypatch):
    import chat.render as render
    from core.sections.chat import ChatOptions

    messages = long_conversation(12)
    messages.insert(3, {"role": "user", "content": "and again"})  # a user turn between calls
    for options in (ChatOptions(), ChatOptions(tool_format="hermes", think_prefill=True, history_reasoning="keep")):
        fast = render.render_example(tiny_tokenizer, messages, LS_DOC, options, train="all")
        monkeypatch.setattr(render, "_windowed_bounds", lambda *a: None)
        slow = render.render_example(tiny_tokenizer, messages, LS_DOC, options, train="all")
        monkeypatch.undo()
        assert (fast.ids, fast.mask, fast.spans) == (slow.ids, slow.mask, slow.spans)
        assert len(fast.spans) == 13
    # a template that numbers its messages renders a window unlike the prefix: the exact path decides, same result
    numbered = copy.copy(tiny_tokenizer)
    numbered.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ loop.index }}: {{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    plain = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"}] * 3
    real_prefix, calls = render._prefix_bounds, []
    monkeypatch.setattr(render, "_prefix_bounds", lambda *a: calls.append(1) or real_prefix(*a))
    example = render.render_example(numbered, plain, None, ChatOptions(), train="all")
    assert calls == [1]
    assert [numbered.decode(example.ids[a:b]) for a, b in example.spans] == [f"{k}: a<|im_end|>" for k in (2, 4, 6)]


# --- SFT data: schema-mismatched calls and over-long examples are dropped, counted, reported ------------------------
def _sft_rows():
    from test_sft_data import sft_conversations

    return sft_conversations(12, seed=3)


def _first_call(row):
    for message in row["messages"]:
        if message.get("tool_calls"):
            return message["tool_calls"][0]["function"]
    raise AssertionError("no call")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda fn: fn["arguments"].update(zzz=1), "has no argument 'zzz'"),
        (lambda fn: fn["arguments"].pop(next(iter(fn["arguments"]))), "lacks required argument"),
        (lambda fn: fn["arguments"].update({k: [1] for k in fn["arguments"]}), "is list, the schema says"),
        (lambda fn: fn["arguments"].update({k: True for k in fn["arguments"]}), "is bool, the schema says"),
    ],
)
def test_calls_that_do_not_fit_their_schema_are_dropped_and_named(tiny_tokenizer, tmp_path, damage, reason, capsys):
    from test_sft_data import OPTIONS, write_dataset

    from core.sections.train import DatasetSpec
    from train.data import build_sft_dataset, new_report

    rows = _sft_rows()
    clean = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(write_dataset(tmp_path / "a.jsonl", rows)))], OPTIONS,
                              layout="full", progress=False)  # fmt: skip
    bad = [i for i, r in enumerate(rows) if any(m.get("tool_calls") for m in r["messages"])][:2]
    for i in bad:
        damage(_first_call(rows[i]))
    report = new_report()
    path = write_dataset(tmp_path / "b.jsonl", rows)
    ds = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(path))], OPTIONS, layout="full", progress=False,
                           report=report, max_dropped_fraction=None)  # fmt: skip
    assert len(ds) == len(clean) - 2
    assert report["by_reason"] == {"arguments_do_not_fit_schema": 2}
    assert all(reason in d["why"] and "row" in d["why"] for d in report["dropped_rows"])
    assert f"row {bad[0]}:" in " ".join(d["why"] for d in report["dropped_rows"])
    assert "[sft] warning: dropped 2 of 12 rows: a call whose arguments do not fit" in capsys.readouterr().out


def test_examples_over_max_length_are_dropped_and_counted_never_cut(tiny_tokenizer, tmp_path, capsys):
    from test_sft_data import OPTIONS, write_dataset

    from core.sections.train import DatasetSpec
    from train.data import DatasetError, build_sft_dataset, new_report

    rows = _sft_rows()
    spec = [DatasetSpec(str(write_dataset(tmp_path / "a.jsonl", rows)))]
    full = build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="per_turn", progress=False)
    lengths = sorted(len(ids) for ids in full["input_ids"])
    limit = lengths[len(lengths) // 2]
    report = new_report()
    kept = build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="per_turn", progress=False, max_length=limit,
                             report=report, max_dropped_fraction=None)  # fmt: skip
    assert max(len(ids) for ids in kept["input_ids"]) <= limit
    assert sorted(len(ids) for ids in kept["input_ids"]) == [n for n in lengths if n <= limit]  # none cut
    assert report["examples_over_max_length"] == sum(n > limit for n in lengths)
    assert report["rows_over_max_length"] >= 1 and report["over_max_length_rows"][0].startswith(str(tmp_path))
    assert f"longer than max_length={limit} tokens" in capsys.readouterr().out
    with pytest.raises(DatasetError, match=r"produced no examples \(dropped \d+ examples longer than max_length=5"):
        build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="full", progress=False, max_length=5)


def test_a_hostile_long_row_costs_time_linear_in_what_fits(tiny_tokenizer, tmp_path):
    """27,000 messages in the per_turn layout: only prefixes up to max_length are rendered."""
    from test_sft_data import OPTIONS, write_dataset

    from core.sections.train import DatasetSpec
    from train.data import build_sft_dataset, new_report

    conversation = long_conversation(13_500)
    row = {"messages": conversation, "tools": [{"type": "function", "function": {
        "name": "ls", "description": "List files.",
        "parameters": {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": []}}}]}  # fmt: skip
    spec = [DatasetSpec(str(write_dataset(tmp_path / "a.jsonl", [row])))]
    report = new_report()
    t0 = time.monotonic()
    ds = build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="per_turn", progress=False, max_length=2048,
                           report=report)  # fmt: skip
    assert time.monotonic() - t0 < 120
    assert len(ds) >= 1 and report["examples_over_max_length"] == 13_501 - len(ds)


# --- eval: one run identity per label ------------------------------------------------------------------------------
def _eval_recipe(tmp_path, model, **eval_keys):
    import yaml

    from core.recipe import load_recipe

    section = {"categories": ["base"], "ids": ["multi_turn_base_0"], "max_new_tokens": 3, "batch_size": 1,
               "max_context": 4096, **eval_keys}  # fmt: skip
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"model": str(model), "run_dir": str(tmp_path / "run"), "eval": section}))
    return path, load_recipe(path)


def test_eval_label_refuses_another_identity_and_silent_reruns(tiny_model_dir, tmp_path):
    import shutil

    from core.errors import UserError
    from eval.pipeline import evaluate_model

    path, recipe = _eval_recipe(tmp_path, tiny_model_dir)
    meta = evaluate_model(recipe, str(tiny_model_dir), "m", progress=False)
    out = tmp_path / "run" / "eval" / "m"
    result = next((out / "result").rglob("*_result.json"))
    first = result.read_text()
    assert meta["identity"]["sampling"]["temperature"] == 0.0 and (out / "identity.json").is_file()
    # a rerun without --resume would truncate the finished row: refused, nothing touched
    with pytest.raises(UserError, match=r"'m' already holds 1 finished result rows .*--resume .*--fresh"):
        evaluate_model(recipe, str(tiny_model_dir), "m", progress=False)
    # --resume with other sampling, another model or other categories: refused naming what differs
    _, hot = _eval_recipe(tmp_path, tiny_model_dir, temperature=0.7)
    with pytest.raises(UserError, match=r"another identity \(sampling\.temperature 0\.0 -> 0\.7\); pass --fresh"):
        evaluate_model(hot, str(tiny_model_dir), "m", resume=True, progress=False)
    other = shutil.copytree(tiny_model_dir, tmp_path / "other")
    weights = next(other.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-8:] = bytes(8)  # other weights, same sizes
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"another identity \(model .*weights "):
        evaluate_model(recipe, str(other), "m", resume=True, progress=False)
    _, fewer = _eval_recipe(tmp_path, tiny_model_dir, max_new_tokens=5)
    with pytest.raises(UserError, match=r"max_new_tokens 3 -> 5"):
        evaluate_model(fewer, str(tiny_model_dir), "m", resume=True, progress=False)
    assert result.read_text() == first
    # the same identity resumes; --fresh moves the old results aside and starts over
    evaluate_model(recipe, str(tiny_model_dir), "m", resume=True, progress=False)
    assert result.read_text() == first
    meta = evaluate_model(hot, str(tiny_model_dir), "m", fresh=True, progress=False)
    (old,) = out.glob("superseded-*")
    assert (old / result.relative_to(out)).read_text() == first
    assert json.loads((old / "identity.json").read_text())["sampling"]["temperature"] == 0.0
    assert json.loads((out / "identity.json").read_text())["sampling"]["temperature"] == 0.7


def test_funreason_eval_rerun_is_one_line_exit_2(tiny_model_dir, tmp_path):
    path, recipe = _eval_recipe(tmp_path, tiny_model_dir)
    first = funreason("eval", "--config", str(path), "--model", str(tiny_model_dir), "--label", "m", timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    again = funreason("eval", "--config", str(path), "--model", str(tiny_model_dir), "--label", "m",
                      "eval.temperature=0.5", "--resume", timeout=300)  # fmt: skip
    assert again.returncode == 2, again.stderr[-2000:]
    lines = [x for x in again.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "sampling.temperature 0.0 -> 0.5" in lines[0] and "--fresh" in lines[0], lines


# --- question and answer files are validated on load ---------------------------------------------------------------
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
    from eval.tasks import load_tasks

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
    from eval.tasks import DataError, load_tasks

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
    from eval.tasks import DataError, load_tasks

    q, a = _bfcl_files(tmp_path, n=3)
    damage(a[2])
    qf, af = _write_rows(tmp_path / "q.jsonl", q), _write_rows(tmp_path / "a.jsonl", a)
    with pytest.raises(DataError, match=r"a\.jsonl line 3: " + message):
        load_tasks(question_file=qf, answer_file=af)
    if "got str" in message:  # the whole command: one line, exit 2, no score written
        root = _math_results(tmp_path / "result", [])
        proc = funreason("score", "--result-dir", str(root), "--out", str(tmp_path / "score"),
                         "--question-file", str(qf), "--answer-file", str(af), timeout=120)  # fmt: skip
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and "a.jsonl line 3: field 'ground_truth'" in lines[0]
        assert not (tmp_path / "score").exists()


# --- retried teacher faults are counted by kind -------------------------------------------------------------------
def test_retried_teacher_faults_are_counted_by_kind_in_stats(tmp_path):
    import threading

    from fake_openai import FakeOpenAIServer, Fault
    from test_synth_teachers import TemplateOverHTTP, fast_config

    from core.sections.synth import SynthConfig
    from synth.pipeline import run

    lock, state = threading.Lock(), {"n": 0, "served": {"http_5xx": 0, "http_4xx": 0}}

    def responder(endpoint, request):
        with lock:
            n = state["n"] = state["n"] + 1
            if n % 5 == 0:
                state["served"]["http_5xx"] += 1
                return Fault(status=503)
            if n % 7 == 0:
                state["served"]["http_4xx"] += 1
                return Fault(status=429)  # rate limited: retried
        return request["fake_reply"]

    with FakeOpenAIServer(responder) as server:
        teacher_cfg = fast_config(server.base_url, max_retries=3, timeout_s=5, concurrency=1)
        config = SynthConfig(environments=["GorillaFileSystem"], num_trajectories=3, teacher=teacher_cfg)
        summary = run(config, tmp_path, seed=0, teacher=TemplateOverHTTP(teacher_cfg), progress=False)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert summary["accepted"] == 3 and not any(k.startswith("teacher:") for k in stats["rejection_reasons"])
    retried = stats["teacher_retries"]
    assert sum(retried.values()) == sum(state["served"].values()) > 0, (retried, state)
    assert retried.get("http_5xx", 0) == state["served"]["http_5xx"] > 0
