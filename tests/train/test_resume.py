"""Training resumes by default from the newest complete checkpoint, past torn ones, by hand and under
`funreason run`; --fresh deletes nothing.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/train/test_resume.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from funreason.core.modelfiles import weights_problem

from tests.cli import ENV, REPO
from tests.train.test_data import sft_conversations, write_dataset
from tests.train.test_sft import write_recipe as write_sft_recipe


def fake_checkpoint(d: Path, model: Path, state: bool = True) -> Path:
    import torch

    d.mkdir(parents=True)
    shutil.copy(model / "model.safetensors", d / "model.safetensors")
    torch.save({"step": d.name}, d / "optimizer.pt")
    if state:
        (d / "trainer_state.json").write_text(json.dumps({"global_step": int(d.name.split("-")[1])}))
    return d


def test_last_checkpoint_falls_back_past_torn_weights_and_optimizer(tmp_path, tiny_model_dir):
    from funreason.train.common import checkpoint_problem, last_checkpoint

    for n in (2, 4, 6, 8):
        fake_checkpoint(tmp_path / f"checkpoint-{n}", tiny_model_dir, state=n != 8)
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-6")
    os.truncate(tmp_path / "checkpoint-6" / "model.safetensors", 1000)
    opt = tmp_path / "checkpoint-4" / "optimizer.pt"
    os.truncate(opt, opt.stat().st_size - 10)
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")
    assert checkpoint_problem(tmp_path / "checkpoint-8") == "no trainer_state.json"
    assert "model.safetensors: truncated" in checkpoint_problem(tmp_path / "checkpoint-6")
    assert "optimizer.pt" in checkpoint_problem(tmp_path / "checkpoint-4")
    assert weights_problem(tiny_model_dir) is None


SFT = {"max_steps": 12, "save_steps": 2, "logging_steps": 1, "per_device_train_batch_size": 2, "save_total_limit": 3}


def sft_cmd(recipe: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "train" / "sft.py"), "--config", str(recipe), *extra]


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert proc.poll() is None, "the process exited before it wrote " + str(path)
        assert time.monotonic() < deadline, f"{path} not written in time"
        time.sleep(0.05)


def checkpoints(out: Path) -> dict[int, bool]:
    return {int(p.name.split("-")[1]): (p / "trainer_state.json").is_file() for p in out.glob("checkpoint-*")}


def test_killed_sft_resumes_by_default_past_a_torn_checkpoint_and_fresh_keeps_the_old_ones(tmp_path, tiny_model_dir):
    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(8, seed=5, tools=False))
    recipe = write_sft_recipe(tmp_path, tiny_model_dir, [data], SFT)
    out = tmp_path / "run" / "sft"
    proc = subprocess.Popen(sft_cmd(recipe), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(out / "checkpoint-4" / "trainer_state.json", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "final").exists(), "the run finished before it could be killed"
    whole = sorted(n for n, ok in checkpoints(out).items() if ok)
    newest, fallback = whole[-1], whole[-2]
    # A torn checkpoint whose trainer_state.json exists: the weights were cut short after the fact.
    weights = out / f"checkpoint-{newest}" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 3)

    # Plain rerun, no flag: continues from the newest WHOLE checkpoint; the torn one is moved aside, not lost.
    done = subprocess.run(sft_cmd(recipe), env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] == str(out / f"checkpoint-{fallback}")
    assert summary["steps"] == 12 and [s for s, _ in summary["loss_curve"]] == list(range(1, 13))
    (torn,) = out.glob(f"torn-*/checkpoint-{newest}")
    assert torn.is_dir()

    # --fresh with a rotation limit of 1: every checkpoint and the final model already there survive, moved aside.
    before = {p.name: (p / "trainer_state.json").read_bytes() for p in out.glob("checkpoint-*")}
    done = subprocess.run(
        sft_cmd(recipe, "--fresh", "save_total_limit=1"), env=ENV, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (moved,) = out.glob("superseded-*")
    assert {p.name: (p / "trainer_state.json").read_bytes() for p in moved.glob("checkpoint-*")} == before
    assert (moved / "final" / "model.safetensors").is_file()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] is None and summary["steps"] == 12
    assert sorted(checkpoints(out)) == [12]  # this run's rotation deleted only this run's checkpoints


def test_killed_funreason_run_resumes_training_and_holds_the_lock_meanwhile(tmp_path, tiny_model_dir):
    """SIGKILL the whole `funreason run` (pipeline, accelerate launcher, training process) mid-SFT; while it ran a
    second train/sft.py on the same dir was refused naming it; the rerun takes the dead run's lock over and resumes."""
    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(8, seed=6, tools=False))
    recipe = write_sft_recipe(tmp_path, tiny_model_dir, [data], {**SFT, "max_steps": 16})
    out = tmp_path / "run" / "sft"
    run = [sys.executable, "-m", "funreason", "run", "--config", str(recipe), "--stages", "sft"]
    proc = subprocess.Popen(
        run, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for(tmp_path / "run" / ".lock", proc)  # the pipeline holds the run dir from its start
        # A second training process on the same dir, started now: it reaches its lock after its imports (seconds),
        # while the pipeline is launching or training; it must stop with one line naming the pipeline.
        second = subprocess.run(sft_cmd(recipe), env=ENV, capture_output=True, text=True, timeout=300)
        assert proc.poll() is None and not (out / "final").exists(), "the pipeline ended before the check"
        assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
        assert f"is in use by funreason run's sft stage, pid {proc.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        wait_for(out / "checkpoint-2" / "trainer_state.json", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if (out / "final").exists():
        pytest.skip("the run finished before it could be killed (machine too fast for this test's timing)")
    assert not (out / "DONE.json").exists()
    done = subprocess.run(run, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "DONE.json").read_text())
    resumed = json.loads((out / "train_summary.json").read_text())["resumed_from"]
    assert resumed is not None and int(resumed.rsplit("-", 1)[1]) >= 2
    assert summary["steps"] == 16


def test_launch_command_resumes_unless_forced():
    from funreason.train.launch import launch_command

    assert "--fresh" not in launch_command("sft.py", "r.yaml", None, gpu=False)
    assert launch_command("sft.py", "r.yaml", None, gpu=False, fresh=True)[-1] == "--fresh"
