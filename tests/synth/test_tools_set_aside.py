"""A tool that keeps timing out is set aside (issue #24): after execution.set_aside_after_timeouts calls in a row
stopped by the time limit, synthesis calls it no more (graph, sampler, phase III, replays), names it in a warning
line and counts it in stats.json, and goes on with the other tools. Evaluation and scoring never set a tool aside.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_tools_set_aside.py
"""

from __future__ import annotations

import json

import pytest
from funreason.core.sections.execution import ExecutionLimits
from funreason.envs.dispatch import (
    Dispatcher,
    is_limit_error,
    set_default_limits,
    setting_tools_aside,
    take_timeout_counts,
)
from funreason.synth.pipeline import run

from tests.synth_configs import quiet_config
from tests.toy_slow_env import HangingLibrary

HANGING = "tests.toy_slow_env:HangingLibrary"
FAST = ExecutionLimits(call_timeout_s=0.1)


@pytest.fixture
def fast_limits():
    set_default_limits(FAST)
    HangingLibrary.calls = 0
    yield
    set_default_limits(None)


def _library() -> dict:
    library = HangingLibrary()
    library._load_scenario(HangingLibrary.generate_config(__import__("random").Random(0)))
    return {"HangingLibrary": library}


def test_consecutive_timeouts_set_a_tool_aside_and_an_answer_resets_the_run(fast_limits, capsys):
    with setting_tools_aside(3):
        dispatcher = Dispatcher(_library())
        results = [dispatcher.execute(f"catalogue_sync(branch={b!r})") for b in ["a", "b", "now", "c", "d"]]
        assert HangingLibrary.calls == 5 and results[2] == '{"synced": true}'  # 2 timeouts, an answer, 2 timeouts
        results += [dispatcher.execute("catalogue_sync(branch='e')") for _ in range(3)]
        assert HangingLibrary.calls == 6  # the third in a row set it aside: the next two never ran
        assert all(is_limit_error(r) for r in results[5:]) and "was set aside after 3 calls" in results[-1]
        assert json.loads(Dispatcher(_library()).execute("find_book(title='Salt Roads')")) is not None  # others run
        assert take_timeout_counts() == {
            "calls_stopped_by_timeout": 5,
            "tools_set_aside:HangingLibrary.catalogue_sync": 1,
        }
        assert take_timeout_counts() == {}
    warnings = [line for line in capsys.readouterr().err.splitlines() if "set aside" in line]
    assert len(warnings) == 1 and "HangingLibrary.catalogue_sync() set aside for the rest of this run" in warnings[0]
    # Outside synthesis (evaluation, scoring, RL) every call runs: a timeout there comes from its arguments.
    dispatcher = Dispatcher(_library())
    for _ in range(4):
        dispatcher.execute("catalogue_sync(branch='x')")
    assert HangingLibrary.calls == 10


def test_synthesis_sets_a_hanging_tool_aside_and_goes_on(fast_limits, tmp_path, capsys):
    """The issue's case: 20 trajectories over an environment with a tool that never answers called it ~245 times."""
    config = quiet_config(environments=[HANGING], num_trajectories=20, rounds=[1, 2], trace_length=[1, 3])
    summary = run(config, tmp_path, seed=0, progress=False)
    assert HangingLibrary.calls == FAST.set_aside_after_timeouts  # graph probing hit the limit; nothing after
    assert summary["complete"] and summary["accepted"] >= 10
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["tools_set_aside"] == {"HangingLibrary.catalogue_sync": 1}
    assert stats["calls_stopped_by_timeout"] == FAST.set_aside_after_timeouts
    assert "catalogue_sync" not in stats["tool_coverage"]["counts"]
    assert "**set aside** for timing out: HangingLibrary.catalogue_sync (3 calls" in (tmp_path / "stats.md").read_text()
    err = capsys.readouterr().err
    assert err.count("warning: tool HangingLibrary.catalogue_sync() set aside") == 1


def test_a_teachers_lone_surrogate_rejects_the_trajectory_not_the_run(tmp_path):
    """An LLM teacher that emits half of an escaped emoji: the trajectory is rejected (no tokenizer, Arrow column or
    UTF-8 file takes it), the dataset of the others is written."""
    from funreason.synth.teachers.template import TemplateTeacher

    class HalfEmojiTeacher(TemplateTeacher):
        replies = 0

        async def generate(self, role, messages, payload):
            text = await super().generate(role, messages, payload)
            if role != "closing":  # the assistant's last words, as a real teacher's JSON reply would carry them
                return text
            HalfEmojiTeacher.replies += 1
            reply = json.loads(text)
            key = next(k for k, v in reply.items() if isinstance(v, str))
            reply[key] += " \ud83d" if HalfEmojiTeacher.replies % 2 else ""
            return json.dumps(reply)

    config = quiet_config(environments=["tests.toy_env:ToyLibrary"], num_trajectories=6)
    summary = run(config, tmp_path, seed=0, progress=False, teacher=HalfEmojiTeacher())
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert summary["complete"] and stats["rejection_reasons"].get("assembly:unencodable_text", 0) >= 1, stats
    assert (tmp_path / "dataset").is_dir() and summary["accepted"] == stats["accepted"]
