"""`funreason eval`: replay BFCL multi-turn tasks against a model, write BFCL result files, score them.

    funreason eval --config recipes/smoke.yaml                                  # the run's base/sft/grpo models
    funreason eval --config recipes/smoke.yaml --model runs/smoke/sft/final --label sft
    funreason eval --config recipes/X.yaml --resume eval.backend=openai eval.base_url=http://host:8000/v1
    funreason eval --config recipes/X.yaml eval.categories=[base] eval.limit=20 eval.max_new_tokens=512

Outputs go to `<run_dir>/eval/<label>/` (see eval/pipeline.py). `--resume` keeps finished entries of an earlier,
interrupted run and runs only the rest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from funreason.core.layout import RunLayout
from funreason.core.lock import stage_lock
from funreason.core.recipe import add_recipe_arguments, recipe_from_args
from funreason.eval.pipeline import evaluate_model, models_to_evaluate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason eval", description=__doc__.split("\n\n")[0])
    add_recipe_arguments(parser)
    parser.add_argument("--model", help="Model directory to evaluate (default: the run's base, sft and grpo models).")
    parser.add_argument("--label", help="Name of this evaluation (default: the model directory's name).")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="Keep finished entries of an interrupted run.")
    start.add_argument(
        "--fresh",
        action="store_true",
        help="Start the label over: its earlier results are moved into <label>/superseded-<time>/, never deleted.",
    )
    args = parser.parse_args(argv)
    recipe = recipe_from_args(args)

    if args.model:
        targets = [(args.label or Path(args.model).resolve().name, args.model)]
    else:
        targets = models_to_evaluate(recipe)
    for label, path in targets:
        with stage_lock(RunLayout.of(recipe).eval_dir(label), "funreason eval"):  # one writer per label
            meta = evaluate_model(recipe, path, label, resume=args.resume, fresh=args.fresh)
        print(f"[eval] {label}: {Path(recipe.run_dir) / 'eval' / label}")
        print(json.dumps({"label": label, "scores": meta["scores"], "run": meta["run"]}, indent=2, default=str))
    return 0
