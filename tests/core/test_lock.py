"""One writer per output dir: a second process gets one line naming the holder; a dead holder's lock is taken over.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/core/test_lock.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from funreason.core.lock import LockedError, holder, stage_lock

from tests.cli import REPO, base_recipe, write

HOLD = (
    "import sys, time; sys.path.insert(0, {repo!r})\n"
    "from core.lock import stage_lock\n"
    "with stage_lock(sys.argv[1], 'a test', *sys.argv[2:]):\n"
    "    print('locked', flush=True); time.sleep(120)\n"
)


def hold_in_child(directory: Path, env=None, name: str | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(repo=str(REPO)), str(directory), *([name] if name else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.stderr.read()
    return proc


def test_second_process_gets_one_line_naming_the_holder_and_a_dead_holder_is_taken_over(tmp_path):
    d = tmp_path / "synth"
    child = hold_in_child(d)
    try:
        with pytest.raises(LockedError, match=rf"synth is in use by a test, pid {child.pid} on .* \(.*-c.*sft cannot"):
            with stage_lock(d, "sft"):
                pass
    finally:
        os.kill(child.pid, signal.SIGKILL)  # a dead holder: the kernel drops its flock
        child.wait()
    with stage_lock(d):
        assert holder(d)["pid"] == os.getpid()


def test_lock_is_reentrant_in_the_holding_process_and_its_children(tmp_path):
    d = tmp_path / "sft"
    with stage_lock(d, "outer"):
        with stage_lock(d, "inner"):  # funreason run holding synth/ while synth's entry point asks again
            pass
        child = hold_in_child(d, env=dict(os.environ))  # the training script funreason run launches
        child.kill()
        child.wait()
    assert "FUNREASON_HELD_LOCKS" not in os.environ or str(d) not in os.environ["FUNREASON_HELD_LOCKS"]


@pytest.mark.parametrize("command", ["synth", "eval"])
def test_stage_commands_refuse_a_locked_dir(tmp_path, capsys, command):
    from funreason.cli import main

    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={}, eval={}))
    d = tmp_path / "run" / ("synth" if command == "synth" else "eval/base")
    child = hold_in_child(d)
    try:
        extra = ["--model", str(tmp_path / "model"), "--label", "base"] if command == "eval" else []
        assert main([command, "--config", str(f), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"pid {child.pid} on" in err
    finally:
        child.kill()
        child.wait()


def test_synth_shards_lock_one_shard_each(tmp_path, capsys):
    """Shards of one run share a dir by design; two copies of the same shard do not."""
    from funreason.cli import main

    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={}))
    d = tmp_path / "run" / "synth"
    child = hold_in_child(d, name=".lock-shard-0of2")
    try:
        assert main(["synth", "--config", str(f), "--shard", "0/2"]) == 2
        assert f"pid {child.pid} on" in capsys.readouterr().err
        with stage_lock(d, name=".lock-shard-1of2"), stage_lock(d):
            pass
    finally:
        child.kill()
        child.wait()
