"""The dispatcher's limits: hostile calls are stopped in seconds, timers cannot be swallowed, sizes are capped.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/envs/test_dispatch_limits.py
"""

from __future__ import annotations

import json
import time

import pytest
from funreason.core.errors import RecipeError
from funreason.core.sections.execution import ExecutionLimits
from funreason.envs import bfcl
from funreason.envs.dispatch import LIMIT_COUNTS, Dispatcher, is_limit_error

from tests.cli import funreason, math_result_dir

HOSTILE = ["logarithm(value=2, base=3, precision=1000000)", "power(base=10, exponent=10000000)"]


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
    from funreason.chat.calls import ToolCall

    nested = ToolCall("echo", {"content": ["y" * 300] * 10})
    assert "arguments of echo() are over the limit of 1000" in dispatcher.execute(nested)
    assert calls == ["ok"]


def test_limits_are_validated_recipe_keys():
    with pytest.raises(RecipeError, match=r"execution.call_timeout_s must be >= 0, got -1"):
        ExecutionLimits(call_timeout_s=-1)


@pytest.mark.parametrize("line", HOSTILE)
def test_funreason_score_finishes_hostile_calls_in_seconds_with_a_verdict(tmp_path, line):
    root = math_result_dir(tmp_path / "result", [line])
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
