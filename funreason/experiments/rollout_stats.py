"""How much a GRPO step could learn from a model: greedy and sampled turn success on RL tasks, pass@k, and the
share of groups whose rollouts all pass, all fail (no gradient either way) or mix.

    python -m funreason.experiments.rollout_stats runs/learning-check/seed-0 runs/learning-check/seed-0/sft/final
    python -m funreason.experiments.rollout_stats RUN_DIR MODEL --split valid --tasks 100 --group 8 --temperatures 0.6,1.0

RUN_DIR is a run of the recipe (its `recipe.yaml`, `synth/dataset`, and for `--split valid` the held-out records
`funreason synth --heldout` wrote). Rollouts are GRPO's own (train/rollout.py: same prompts, steps, limits and
rewards as `grpo.*` in the recipe); a group is `--group` rollouts of one task at one temperature. One JSON line per
split, and with `--per-task` each task's passes. docs/learning-check.md reads these figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def group_stats(successes: list[float], group: int) -> dict:
    """Mean, pass@group and group composition of rollouts laid out task by task, `group` per task."""
    if not successes or len(successes) % group:
        raise ValueError(f"{len(successes)} rollouts do not make groups of {group}")
    groups = [successes[i : i + group] for i in range(0, len(successes), group)]
    kinds = Counter("all_fail" if not any(g) else "all_pass" if all(g) else "mixed" for g in groups)
    n = len(groups)
    return {
        "mean": sum(successes) / len(successes),
        f"pass@{group}": sum(1 for g in groups if any(g)) / n,
        **{kind: kinds[kind] / n for kind in ("all_pass", "all_fail", "mixed")},
    }


def load_split(run_dir: Path, split: str, limit: int, options):
    """The first `limit` RL tasks of a split: `train` is the synthesized dataset, the others the held-out records."""
    from datasets import load_from_disk  # deferred: heavy

    from funreason.core.layout import RunLayout
    from funreason.train.heldout_curve import load_heldout_tasks
    from funreason.train.rl_tasks import build_tasks

    layout = RunLayout.at(run_dir)
    if split == "train":
        return build_tasks(load_from_disk(str(layout.dataset)), limit=limit, options=options)
    return load_heldout_tasks(layout.synth_dir / "heldout" / f"{split}_records.jsonl", limit, options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m funreason.experiments.rollout_stats", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("run_dir", type=Path, help="A run dir of the recipe (recipe.yaml, synth/).")
    parser.add_argument("model", type=Path, help="The model to roll out (a local model directory).")
    parser.add_argument("--split", default="train,valid", help="train (the RL tasks), valid, test; comma-separated.")
    parser.add_argument("--tasks", type=int, default=100, help="The first N tasks of each split (default 100).")
    parser.add_argument("--group", type=int, default=8, help="Rollouts per task and temperature (default 8).")
    parser.add_argument("--temperatures", default="0.6,1.0", help="Sampling temperatures (default 0.6,1.0).")
    parser.add_argument("--seed", type=int, default=0, help="Sampling seed (default 0).")
    parser.add_argument("--per-task", action="store_true", help="Also print each task's passes per temperature.")
    args = parser.parse_args(argv)

    import torch

    from funreason.core.recipe import load_recipe
    from funreason.train.grpo import grpo_config, load_policy
    from funreason.train.heldout_curve import transformers_generate
    from funreason.train.rollout import EnvRollout

    torch.manual_seed(args.seed)
    recipe = load_recipe(args.run_dir / "recipe.yaml")
    model, tokenizer = load_policy(args.model, bf16=False)
    model.eval()
    new_tokens = grpo_config(recipe).max_completion_length  # TRL's key, as the trainer reads it
    rollout = EnvRollout(tokenizer, recipe.chat, recipe.grpo.max_tool_steps, new_tokens)
    temperatures = [float(t) for t in args.temperatures.split(",") if t.strip()]
    with torch.no_grad():
        for split in [s.strip() for s in args.split.split(",") if s.strip()]:
            tasks = load_split(args.run_dir, split, args.tasks, recipe.chat)
            greedy = rollout.run(tasks, transformers_generate(model, tokenizer, new_tokens, batch_size=64))
            line = {"split": split, "tasks": len(tasks), "greedy": sum(ep.turn_success() for ep in greedy) / len(tasks)}
            for t in temperatures:
                sample = transformers_generate(model, tokenizer, new_tokens, batch_size=64, temperature=t)
                episodes = rollout.run([task for task in tasks for _ in range(args.group)], sample)
                successes = [ep.turn_success() for ep in episodes]
                line[f"T{t:g}"] = {k: round(v, 3) for k, v in group_stats(successes, args.group).items()}
                if args.per_task:
                    per_task = [int(sum(successes[i : i + args.group])) for i in range(0, len(successes), args.group)]
                    line[f"T{t:g}"]["per_task_passes"] = per_task
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
