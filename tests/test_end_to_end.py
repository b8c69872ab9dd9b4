"""The whole chain on the tiny model: synth -> SFT -> GRPO -> eval -> report, through `funreason run`.

A shortened smoke recipe (a few minutes on 2 cores) so CI guards every stage's hand-off; `make demo` runs the
full one. Each stage's outputs are checked, then a second `funreason run` must skip every finished stage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

OVERRIDES = [
    "synth.num_trajectories=6",
    "synth.rounds=[2, 2]",
    "sft.max_steps=12",
    "sft.logging_steps=4",
    "grpo.max_steps=1",
    "grpo.max_tasks=4",
    "grpo.max_completion_length=24",
    "grpo.max_tool_steps=2",
    "eval.limit=2",
    "eval.max_new_tokens=16",
]


def _run(args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-m", "funreason", "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )


@pytest.mark.slow
def test_smoke_recipe_runs_every_stage_and_resumes(tmp_path, tiny_model_dir):
    model = tmp_path / "tiny-model"
    shutil.copytree(tiny_model_dir, model)
    run_dir = tmp_path / "run"
    # SFT writes outside the run dir: GRPO, eval and the stage bookkeeping must all follow sft.output_dir.
    sft_dir = tmp_path / "checkpoints" / "sft"
    args = ["--config", str(REPO / "recipes" / "smoke.yaml"), f"model={model}", f"run_dir={run_dir}", *OVERRIDES]
    args.append(f"sft.output_dir={sft_dir}")
    res = _run(args, tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    stage_dirs = {stage: run_dir / stage for stage in ("synth", "grpo", "eval", "report")} | {"sft": sft_dir}
    for stage, directory in stage_dirs.items():
        assert (directory / "DONE.json").is_file(), stage
    assert not (run_dir / "sft").exists()
    # synth: a dataset and clean stats
    stats = json.loads((run_dir / "synth" / "stats.json").read_text())
    assert stats["accepted"] >= 1
    assert (run_dir / "synth" / "dataset").is_dir()
    # training: final models with their recipe
    for stage in ("sft", "grpo"):
        final = stage_dirs[stage] / "final"
        assert (final / "config.json").is_file() and (final / "tokenizer.json").is_file(), stage
        assert (final / "recipe.yaml").is_file(), stage
    assert json.loads((run_dir / "grpo" / "train_summary.json").read_text())["policy"] == str(sft_dir / "final")
    # eval: BFCL result + score files for each label
    for label in ("base", "sft", "grpo"):
        label_dir = run_dir / "eval" / label
        assert list(label_dir.glob("result/*/multi_turn/BFCL_v4_multi_turn_base_result.json")), label
        assert list(label_dir.glob("score/*/multi_turn/BFCL_v4_multi_turn_base_score.json")), label
        meta = json.loads((label_dir / "metadata.json").read_text())
        assert (
            meta["model"]
            == {"base": str(model), "sft": str(sft_dir / "final"), "grpo": str(run_dir / "grpo" / "final")}[label]
        )
        assert meta["provenance"]["git"]["commit"] and meta["provenance"]["packages"]["transformers"], label
    # report: all three rows, paper rows quoted, a PNG
    report = (run_dir / "report" / "report.md").read_text()
    for label in ("base", "sft", "grpo"):
        assert f"| {label}" in report or f"|{label}" in report, label
    assert "quoted" in report.lower()
    assert (run_dir / "report" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run_dir / "recipe.yaml").is_file()

    again = _run(args, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("complete") >= 5, again.stdout
