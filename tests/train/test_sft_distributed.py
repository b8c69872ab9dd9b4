"""SFT as real subprocesses: `funreason run`'s launcher under the 2-process (gloo) and ZeRO-2 CPU configs, and a run
killed with SIGKILL after a checkpoint that resumes and continues the same loss curve.

    OMP_NUM_THREADS=1 DS_ACCELERATOR=cpu .venv/bin/python -m pytest -q tests/train/test_sft_distributed.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from funreason.core.recipe import load_recipe, save_resolved
from funreason.train.launch import LaunchError, run_sft_stage

from tests.train.test_data import sft_conversations, write_dataset
from tests.train.test_sft import write_recipe

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tool_data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("sftdist") / "dataset", sft_conversations(6, seed=3))


@pytest.mark.parametrize("config", ["cpu_2proc", "zero2_cpu"])
def test_launched_run_completes_on_two_processes(tmp_path, tiny_model_dir, tool_data, config):
    sft = {"accelerate_config": config, "max_steps": 3, "per_device_train_batch_size": 2, "logging_steps": 1}
    recipe = load_recipe(write_recipe(tmp_path, tiny_model_dir, [tool_data], sft))
    summary = run_sft_stage(recipe, save_resolved(recipe))
    assert summary["steps"] == 3 and summary["final_loss"] is not None
    assert summary["world_size"] == 2
    assert summary["distributed_type"] == (
        "DistributedType.DEEPSPEED" if config == "zero2_cpu" else "DistributedType.MULTI_CPU"
    )
    final = Path(summary["final_model"])
    assert (final / "model.safetensors").is_file() and (final / "recipe.yaml").is_file()


def test_launch_failure_is_reported_with_the_output(tmp_path, tiny_model_dir):
    recipe = load_recipe(write_recipe(tmp_path, tiny_model_dir, [tmp_path / "absent.jsonl"], {"max_steps": 1}))
    with pytest.raises(LaunchError, match=r"(?s)sft.py failed with exit code.*absent.jsonl"):
        run_sft_stage(recipe, save_resolved(recipe))


def _sft(recipe: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
    cmd = [sys.executable, str(REPO / "train" / "sft.py"), "--config", str(recipe), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _losses(out_dir: Path) -> dict[int, float]:
    summary = json.loads((out_dir / "train_summary.json").read_text())
    return {step: loss for step, loss in summary["loss_curve"]}


def test_killed_run_resumes_and_continues_the_same_loss_curve(tmp_path, tiny_model_dir):
    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(12, seed=4, tools=False))
    sft = {
        "max_steps": 30,
        "save_steps": 8,
        "logging_steps": 1,
        "learning_rate": 1e-3,
        "per_device_train_batch_size": 4,
        "save_total_limit": 5,
    }
    # The uninterrupted reference.
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    ref = _sft(write_recipe(ref_dir, tiny_model_dir, [data], sft))
    out, _ = ref.communicate(timeout=600)
    assert ref.returncode == 0, out[-3000:]
    reference = _losses(ref_dir / "run" / "sft")

    # The same run, SIGKILLed once its first checkpoint is complete.
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    recipe = write_recipe(run_dir, tiny_model_dir, [data], sft)
    out_dir = run_dir / "run" / "sft"
    proc = _sft(recipe)
    deadline = time.time() + 600
    while not (out_dir / "checkpoint-8" / "trainer_state.json").is_file():
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert not (out_dir / "final").exists(), "the run finished before it could be killed"
    checkpoints = sorted(int(p.name.split("-")[1]) for p in out_dir.glob("checkpoint-*"))
    resumed = _sft(recipe, "--resume")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out[-3000:]
    summary = json.loads((out_dir / "train_summary.json").read_text())
    start = int(summary["resumed_from"].rsplit("-", 1)[1])
    assert start == checkpoints[-1] and start < 30
    after = _losses(out_dir)
    assert sorted(after) == list(range(1, 31))
    for step in range(start + 1, 31):
        assert after[step] == pytest.approx(reference[step], rel=1e-4, abs=1e-5), step


def test_cpu_launch_gives_each_process_its_share_of_the_cores(monkeypatch):
    """accelerate launch would pin OMP_NUM_THREADS=1 when it is unset: one core of the machine's for the demo."""
    from funreason.train import launch

    seen = []

    class FakePopen:
        def __init__(self, cmd, env, **kw):
            seen.append(env)
            self.stdout = iter(())

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def wait(self):
            return 0

    monkeypatch.setattr(launch.subprocess, "Popen", FakePopen)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    launch.run_training("sft.py", "recipe.yaml", None)
    launch.run_training("sft.py", "recipe.yaml", "cpu_2proc")
    assert [e["OMP_NUM_THREADS"] for e in seen] == [str(cores), str(max(1, cores // 2))]
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a value the user set is kept
    launch.run_training("sft.py", "recipe.yaml", None)
    assert seen[-1]["OMP_NUM_THREADS"] == "3"
