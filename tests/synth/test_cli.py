"""`funreason synth`: clear one-line errors (exit 2, no traceback) for what a user can get wrong, and the outputs
of a run: trajectories.jsonl, stats, and a dataset whose tool-call arguments survive Arrow untouched.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_cli.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from funreason.core.errors import UserError
from funreason.core.recipe import load_recipe
from funreason.synth.cli import parse_shard

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def recipe_file(tmp_path) -> Path:
    recipe = {
        "model": str(tmp_path / "unused-model"),
        "run_dir": str(tmp_path / "run"),
        "seed": 0,
        "synth": {"environments": ["GorillaFileSystem", "MathAPI"], "num_trajectories": 6},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def synth_cli(recipe_file: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "funreason", "synth", "--config", str(recipe_file), "--no-progress", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("FUNREASON_DEBUG", None)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens there


@pytest.mark.parametrize(
    "args, message",
    [
        (["synth.environments=[NoSuchEnv]"], "unknown environment 'NoSuchEnv'"),
        (["synth.teacher.kind=openai", "synth.teacher.base_url=http://127.0.0.1:{port}/v1"], "unreachable"),
        (["synth.teacher.temprature=0.5"], "did you mean 'temperature'"),
        (["synth.teacher.kind=openai"], "base_url is required"),
        (["--shard", "2/2"], "--shard '2/2'"),
    ],
    ids=["unknown-env", "unreachable-server", "typo-key", "openai-without-url", "bad-shard"],
)
def test_user_errors_are_one_line_exit_2(recipe_file, args, message):
    args = [a.replace("{port}", str(closed_port())) for a in args]
    result = synth_cli(recipe_file, *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (Path(load_recipe(recipe_file).run_dir) / "synth" / "dataset").exists()


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "1", "a/b", "-1/2", "0/0"):
        with pytest.raises(UserError):
            parse_shard(bad)


def test_cli_run_writes_every_output(recipe_file):
    result = synth_cli(recipe_file)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    out = Path(load_recipe(recipe_file).run_dir) / "synth"
    assert summary["complete"] and summary["out_dir"] == str(out)
    records = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    assert len(records) == summary["accepted"] > 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["run"]["teacher"] == "template" and stats["run"]["template_baseline"] is True
    assert (out / "stats.md").read_text().strip()

    from datasets import load_from_disk

    ds = load_from_disk(str(out / "dataset"))
    assert ds.column_names == ["messages", "tools", "metadata"] and len(ds) == len(records)
    # Arrow must not merge the argument keys of different tools (docs/stack.md §5): each row reads back as written.
    for row, record in zip(ds, records):
        assert row["messages"] == record["messages"]
        assert row["tools"] == record["tools"]


def test_run_synth_stage_writes_into_run_dir(recipe_file):
    from funreason.synth.pipeline import run_synth_stage

    recipe = load_recipe(recipe_file)
    summary = run_synth_stage(recipe, recipe_file)
    assert summary["complete"] and (recipe.run_path / "synth" / "dataset" / "state.json").is_file()
    again = run_synth_stage(recipe, recipe_file)  # a re-run resumes: nothing is redone
    assert again["synthesized_now"] == 0 and again["accepted"] == summary["accepted"]
