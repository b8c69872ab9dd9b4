"""Run a recipe end to end, stage by stage, in one run dir; stages whose outputs are complete are skipped.

    funreason run --config recipes/smoke.yaml
    funreason run --config recipes/smoke.yaml --stages synth,sft sft.max_steps=20
    funreason run --config recipes/smoke.yaml --force eval      # redo a stage even if complete

Each stage writes `<run_dir>/<stage>/DONE.json` (atomically, last) when its outputs are complete; that file is
what "complete" means here (synthesis that accepted nothing is not complete: exit 1, no DONE.json). A stage holds
the lock of its output dir while it runs (core.lock). Training continues from its newest complete checkpoint;
`--force sft` starts it over with `--fresh` (old checkpoints moved aside, never deleted). Training stages are launched as `accelerate launch` subprocesses with the recipe's
accelerate config, exactly as a user would type them.
"""

from __future__ import annotations

import argparse
import importlib
import time
from contextlib import ExitStack
from pathlib import Path

from funreason.core.atomic import atomic_write_json
from funreason.core.errors import UserError
from funreason.core.layout import STAGES, RunLayout
from funreason.core.lock import stage_lock
from funreason.core.modelfiles import is_model_dir, require_model_dir
from funreason.core.recipe import Recipe, add_recipe_arguments, recipe_from_args, save_resolved
from funreason.envs import bfcl
from funreason.fixtures.tiny import build


def stage_dir(recipe: Recipe, stage: str) -> Path:
    return RunLayout.of(recipe).stage_dir(stage)


def is_done(recipe: Recipe, stage: str) -> bool:
    return RunLayout.of(recipe).done_file(stage).is_file()


def mark_done(recipe: Recipe, stage: str, summary: dict) -> Path:
    """Write the stage's DONE.json atomically: the last thing a stage does."""
    done = RunLayout.of(recipe).done_file(stage)
    done.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(done, summary)


class NothingProduced(UserError):
    """A stage finished without output worth the name; it is not marked done."""

    exit_code = 1


def locked_dirs(recipe: Recipe, stage: str) -> list[Path]:
    """The dirs a stage writes, each locked while it runs (core.lock): its stage dir and, for eval, each label's
    dir (what `funreason eval --label X` locks), so a concurrent run or command on them stops with one line."""
    layout = RunLayout.of(recipe)
    dirs = [layout.stage_dir(stage)]
    if stage == "eval":
        dirs += [layout.eval_dir(label) for label in recipe.eval.models]
    return dirs


def check_produced(recipe: Recipe, stage: str, summary: dict) -> None:
    """Refuse to mark a stage done when it produced nothing: all-failed synthesis has an empty dataset."""
    if stage == "synth" and (not summary.get("complete", True) or summary.get("accepted") == 0):
        attempted = summary.get("attempted", recipe.synth.num_trajectories)
        stats = stage_dir(recipe, stage) / "stats.json"
        raise NothingProduced(
            f"synth accepted 0 of {attempted} trajectories (why: the rejections in {stats}); the stage is not "
            "marked done and nothing downstream can train; fix the teacher and rerun (finished work is kept)"
            if summary.get("complete", True)
            else f"synth did not finish every trajectory in {stage_dir(recipe, stage)}; the stage is not marked done"
        )


def ensure_model(recipe: Recipe) -> None:
    """Build the tiny model at `recipe.model` when the recipe asks for it and it is not there yet."""
    model = Path(recipe.model)
    if is_model_dir(model):
        require_model_dir(model)
        return
    if recipe.tiny is None:
        raise UserError(
            f"model directory {model} has no config.json; point `model` at a local model "
            "(nothing is downloaded) or add a `tiny:` section to build one"
        )
    print(f"[run] building {recipe.tiny.shape} model at {model}")
    t = recipe.tiny
    # The recipe's environments get line tokens (BFCL's classes always have them; a `module:Class` of the user's
    # gets them here): the prompt the model trains and is evaluated on is then a few dozen tokens, not hundreds.
    build(
        model,
        seed=t.seed,
        shape=t.shape,
        vocab_size=t.vocab_size,
        line_tokens=t.line_tokens,
        vocab=t.vocab,
        environments=tuple(recipe.synth.environments) if recipe.synth else (),
    )


def _stage_runner(stage: str):
    """Each stage's entry point, `run_stage(recipe, resolved_recipe_path) -> dict summary`, lives with its code."""
    module = {
        "synth": "funreason.synth.pipeline",
        "sft": "funreason.train.launch",
        "grpo": "funreason.train.launch",
        "eval": "funreason.eval.pipeline",
        "report": "funreason.eval.report",
    }[stage]
    mod = importlib.import_module(module)
    return getattr(mod, f"run_{stage}_stage")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason run", description=__doc__.split("\n\n")[0])
    add_recipe_arguments(parser)
    parser.add_argument("--stages", default=",".join(STAGES), help=f"Comma-separated subset of {','.join(STAGES)}.")
    parser.add_argument("--force", default="", help="Comma-separated stages to redo even if complete.")
    parser.add_argument("--dry-run", action="store_true", help="Validate the recipe, print the plan, run nothing.")
    args = parser.parse_args(argv)
    recipe = recipe_from_args(args)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    force = {s.strip() for s in args.force.split(",") if s.strip()}
    for s in stages + sorted(force):
        if s not in STAGES:
            raise UserError(f"unknown stage {s!r}; stages are {', '.join(STAGES)}")
    if args.dry_run:
        for stage in stages:
            state = (
                "no section" if getattr(recipe, stage) is None else ("complete" if is_done(recipe, stage) else "to run")
            )
            print(f"[run] {stage}: {state}")
        print(f"[run] recipe {recipe.source} is valid")
        return 0
    # One `funreason run` per run dir at a time (and each stage's dir locked too, against the stage commands).
    with stage_lock(recipe.run_path, "funreason run"):
        return run_stages(recipe, stages, force)


def run_stages(recipe: Recipe, stages: list[str], force: set[str]) -> int:
    # Every stage runs in this process or its children: point bfcl_eval's writable root into the run dir before
    # anything imports it (it reads the variable once, at import), building the tiny model included (its tokenizer
    # learns BFCL's tool docs).
    bfcl.set_project_root(RunLayout.of(recipe).bfcl_root)
    ensure_model(recipe)
    resolved = save_resolved(recipe)
    t0 = time.time()
    for stage in stages:
        if getattr(recipe, stage) is None:
            print(f"[run] {stage}: no `{stage}:` section in {recipe.source}, skipped")
            continue
        if is_done(recipe, stage) and stage not in force:
            print(f"[run] {stage}: complete ({RunLayout.of(recipe).done_file(stage)}), skipped")
            continue
        print(f"[run] {stage}: starting")
        t = time.time()
        with ExitStack() as locks:
            for d in locked_dirs(recipe, stage):
                locks.enter_context(stage_lock(d, f"funreason run's {stage} stage"))
            kwargs = {"fresh": stage in force} if stage in ("sft", "grpo", "eval") else {}
            summary = _stage_runner(stage)(recipe, resolved, **kwargs)
            summary = {"stage": stage, "seconds": round(time.time() - t, 1), **(summary or {})}
            check_produced(recipe, stage, summary)
            mark_done(recipe, stage, summary)
        print(f"[run] {stage}: done in {summary['seconds']} s")
    print(f"[run] finished in {time.time() - t0:.0f} s; outputs in {recipe.run_path}")
    report = RunLayout.of(recipe).report_dir / "report.md"
    if report.is_file():
        print(f"[run] report: {report}")
    return 0
