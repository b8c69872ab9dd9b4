"""Seconds per GRPO step, split into generation, environment, rendering and optimization time.

    python benchmarks/grpo_step.py                 # self-contained: tiny model + small template dataset in a temp dir
    python benchmarks/grpo_step.py --config recipes/smoke.yaml max_steps=5   # after `make demo` (its model and data)
    accelerate launch benchmarks/grpo_step.py --config recipes/qwen3_4b_funreason_mt.yaml max_steps=10 use_vllm=true

Runs train/grpo.py's trainer for a few steps (overrides as in train/grpo.py; nothing is saved) and prints, per step
and on average: the rollout's generation time, the environment time (restoring states by replay + executing the
model's calls in the BFCL backends), the rendering time (chat templates for prompts and tool results) and the rest
of the step (scoring, log-prob passes, backward, optimizer): "optimization". The ratio printed last is environment
time over generation time, measured in the same run: the environment should cost a small fraction.
The workload is also printed in real Qwen3 tokens: the RL prompts' lengths in the policy's tokenizer and in
Qwen3-4B-Instruct-2507's real one (`funreason tokenizer`, cached); to time the steps on the real vocabulary too,
point the policy at a tiny model built on it:

    funreason tiny --out runs/tiny-qwen3 --vocab qwen3
    python benchmarks/grpo_step.py --config recipes/smoke.yaml grpo.model=runs/tiny-qwen3 max_steps=5
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from funreason.train.common import setup_environment  # noqa: E402

setup_environment()


def workload(trainer, recipe) -> None:
    """The RL prompts' lengths (as rollouts render them), in the policy's tokens and in real Qwen3 tokens."""
    from funreason.chat.render import render_prompt
    from funreason.train.rl_tasks import RLTask

    from funreason.fixtures.qwen3_tokenizer import load_cached

    tasks = [RLTask.from_json(t) for t in trainer.train_dataset["task"]]
    real = load_cached()
    for name, tok in (("policy", trainer.processing_class), ("Qwen3 (real)", real)):
        n = [len(render_prompt(tok, t.messages, t.tools, recipe.chat).ids) for t in tasks]
        print(
            f"RL prompts, {name} tokenizer ({len(tok):,} tokens): {len(n)} prompts, mean {sum(n) / len(n):,.0f}, "
            f"{min(n):,}-{max(n):,}"
        )


REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "recipes" / "smoke.yaml"


def prepare(tmp: Path) -> list[str]:
    """Arguments for a run that needs nothing prepared: recipes/smoke.yaml on a tiny model built in `tmp` and a
    16-trajectory template-teacher dataset synthesized there (a few seconds), as `make bench` runs it."""
    from funreason.core.layout import RunLayout
    from funreason.core.recipe import load_recipe
    from funreason.synth.pipeline import run

    from funreason.pipeline import ensure_model

    overrides = [f"model={tmp / 'tiny-model'}", f"run_dir={tmp / 'run'}", "synth.num_trajectories=16"]
    recipe = load_recipe(SMOKE, overrides)
    ensure_model(recipe)
    run(recipe.synth, RunLayout.of(recipe).synth_dir, seed=recipe.seed, progress=False)
    return ["--config", str(SMOKE), *overrides]


def main(argv: list[str] | None = None) -> dict:
    import tempfile

    argv = sys.argv[1:] if argv is None else argv
    if "--config" in argv or any(a.startswith("--config=") for a in argv):
        return measure(argv)
    with tempfile.TemporaryDirectory(prefix="grpo-bench-") as tmp:
        return measure(prepare(Path(tmp)) + argv)


def measure(argv: list[str]) -> dict:
    from funreason.core.errors import UserError
    from funreason.core.layout import RunLayout
    from funreason.train.common import parse_script_args
    from funreason.train.grpo import build_trainer, grpo_config, policy_path
    from transformers import TrainerCallback

    args, recipe = parse_script_args(__doc__, "grpo", argv)
    policy, data = policy_path(recipe), Path(recipe.grpo.dataset or RunLayout.of(recipe).dataset)
    if not (policy / "config.json").is_file() or not data.exists():
        missing = policy if not (policy / "config.json").is_file() else data
        raise UserError(
            f"{missing} does not exist yet: run `funreason run --config {args.config} --stages synth,sft` (for "
            "recipes/smoke.yaml: `make demo`) first, or run this benchmark without --config (it builds what it needs)"
        )
    recipe.grpo.extra.setdefault("max_steps", 5)
    recipe.grpo.extra.update({"save_strategy": "no", "report_to": [], "logging_steps": 1})
    recipe.grpo.output_dir = recipe.grpo.output_dir or str(recipe.run_path / "bench_grpo")
    trainer = build_trainer(recipe, grpo_config(recipe))
    steps: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *_, **__):
            self.t0 = time.perf_counter()

        def on_step_end(self, *_, **__):
            steps.append(time.perf_counter() - self.t0)

    trainer.add_callback(StepTimer())
    workload(trainer, recipe)
    trainer.train()
    logs = [e for e in trainer.state.log_history if "rollout/generation_s" in e]
    rows = []
    print(
        f"{'step':>4} {'total_s':>9} {'generation_s':>13} {'environment_s':>14} {'render_s':>9} {'optimization_s':>15}"
    )
    for i, (total, e) in enumerate(zip(steps, logs), 1):
        gen, env, ren = e["rollout/generation_s"], e["rollout/environment_s"], e["rollout/render_s"]
        row = {"total_s": total, "generation_s": gen, "environment_s": env, "render_s": ren}
        row["optimization_s"] = total - gen - env - ren
        rows.append(row)
        print(f"{i:>4} {total:9.3f} {gen:13.3f} {env:14.4f} {ren:9.4f} {row['optimization_s']:15.3f}")
    mean = {k: sum(r[k] for r in rows) / max(len(rows), 1) for k in ("total_s", "generation_s", "environment_s")}
    mean.update({k: sum(r[k] for r in rows) / max(len(rows), 1) for k in ("render_s", "optimization_s")})
    print("mean " + " ".join(f"{k}={v:.4f}" for k, v in mean.items()))
    ratio = mean["environment_s"] / mean["generation_s"] if mean["generation_s"] else float("nan")
    print(
        f"environment / generation = {ratio:.4f}   environment / step = {mean['environment_s'] / mean['total_s']:.4f}"
    )
    return mean


if __name__ == "__main__":
    from funreason.train.common import run_script

    run_script(main)  # a missing model or dataset (--config without `make demo`) is one line saying what to run
