"""`funreason run`'s training stages: launch train/sft.py or train/grpo.py with `accelerate launch`, as a user would.

    from funreason.train.launch import run_sft_stage
    summary = run_sft_stage(recipe, "runs/smoke/recipe.yaml")   # {"final_model": ..., "steps": ..., "final_loss": ...}

The command is printed before it runs, so it can be copied and re-run by hand:
    python -m accelerate.commands.launch [--config_file accelerate_configs/<cfg>.yaml] train/sft.py --config <resolved>
The script continues from the newest complete checkpoint of its output dir (a killed `funreason run` loses no
finished steps); `--force sft` adds `--fresh` (step 0; old checkpoints are moved aside, never deleted).
The section's `accelerate_config` picks the config (a name in accelerate_configs/ or a path); without one, a GPU
machine uses single_gpu and a CPU machine one plain process. On a CPU machine `DS_ACCELERATOR=cpu` and
`--mixed_precision no` are added (docs/stack.md §2). The child's output is streamed; a failure raises LaunchError
with the command and the last lines of output.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml
from funreason.core.errors import UserError
from funreason.core.layout import RunLayout
from funreason.core.recipe import Recipe

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "accelerate_configs"


class LaunchError(UserError):
    """A training subprocess failed; the message carries the command and its last output lines."""

    exit_code = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_path(name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    p = CONFIG_DIR / f"{name}.yaml"
    if not p.is_file():
        known = ", ".join(sorted(c.stem for c in CONFIG_DIR.glob("*.yaml")))
        raise UserError(f"accelerate config {name!r} not found in {CONFIG_DIR} (known: {known})")
    return p


def launch_command(
    script: str, resolved_recipe: str | Path, accelerate_config: str | None, gpu: bool, fresh: bool = False
) -> list[str]:
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config is None and gpu:
        accelerate_config = "single_gpu"
    if accelerate_config is not None:
        cmd += ["--config_file", str(config_path(accelerate_config))]
    else:
        cmd += ["--num_processes", "1", "--num_machines", "1", "--dynamo_backend", "no"]
    if not gpu:
        cmd += ["--mixed_precision", "no"]
    # A fixed default port (29500) collides when two runs share a machine.
    cmd += ["--main_process_port", str(free_port())]
    cmd += [str(REPO / "train" / script), "--config", str(resolved_recipe)]
    # Without --fresh the script continues from the newest complete checkpoint: a killed pipeline loses no steps.
    return cmd + (["--fresh"] if fresh else [])


def cpu_threads_per_process(accelerate_config: str | None) -> int:
    """This machine's cores (those this process may use) shared among the config's processes."""
    processes = 1
    if accelerate_config is not None:
        processes = int(yaml.safe_load(config_path(accelerate_config).read_text()).get("num_processes") or 1)
    return max(1, len(os.sched_getaffinity(0)) // max(1, processes))


def run_training(
    script: str, resolved_recipe: str | Path, accelerate_config: str | None, tail: int = 60, fresh: bool = False
) -> None:
    import torch  # deferred: importing torch costs seconds, and only launching needs it

    gpu = torch.cuda.is_available()
    cmd = launch_command(script, resolved_recipe, accelerate_config, gpu, fresh=fresh)
    env = dict(os.environ)
    if not gpu:
        env.setdefault("DS_ACCELERATOR", "cpu")
        # accelerate launch gives each process OMP_NUM_THREADS=1 when it is unset: one core of the machine's.
        env.setdefault("OMP_NUM_THREADS", str(cpu_threads_per_process(accelerate_config)))
    print("[launch] " + " ".join(cmd), flush=True)
    last = collections.deque(maxlen=tail)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, bufsize=1, errors="replace"
    ) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            last.append(line)
        rc = proc.wait()
    if rc != 0:
        raise LaunchError(
            f"{script} failed with exit code {rc}.\ncommand: {' '.join(cmd)}\nlast output:\n" + "".join(last)
        )


def _summary(recipe: Recipe, stage: str) -> dict:
    layout = RunLayout.of(recipe)
    f = layout.stage_dir(stage) / "train_summary.json"
    summary = json.loads(f.read_text()) if f.is_file() else {}
    summary.setdefault("final_model", str(layout.checkpoint(stage, recipe.model)))
    summary.pop("loss_curve", None)
    return {k: summary.get(k) for k in ("final_model", "steps", "final_loss")} | summary


def run_sft_stage(recipe: Recipe, resolved_recipe_path: str | Path, fresh: bool = False) -> dict:
    """Train SFT, continuing from the newest complete checkpoint; `fresh` (funreason run --force sft) starts at
    step 0 with the old checkpoints moved aside."""
    section = recipe.sft
    run_training("sft.py", resolved_recipe_path, section.accelerate_config, fresh=fresh)
    return _summary(recipe, "sft")


def run_grpo_stage(recipe: Recipe, resolved_recipe_path: str | Path, fresh: bool = False) -> dict:
    section = recipe.grpo
    run_training("grpo.py", resolved_recipe_path, section.accelerate_config, fresh=fresh)
    return _summary(recipe, "grpo")
