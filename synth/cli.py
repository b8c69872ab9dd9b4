"""`funreason synth`: synthesize a multi-turn function-calling dataset from a recipe's `synth:` section.

    funreason synth --config recipes/smoke.yaml                       # -> <run_dir>/synth/
    funreason synth --config recipes/smoke.yaml --resume              # continue after a kill (nothing redone or lost)
    funreason synth --config recipes/smoke.yaml --shard 0/4 --resume  # one of 4 processes/nodes (same --out)
    funreason synth --config recipes/smoke.yaml --out /tmp/s synth.num_trajectories=64 synth.teacher.kind=openai
    funreason synth --config recipes/learning_check.yaml --heldout 60 # + held-out BFCL files (synth/heldout.py)

Outputs (once every shard is finished): trajectories.jsonl, stats.json, stats.md and dataset/ (messages, tools,
metadata; datasets.load_from_disk). Errors the user can fix (bad recipe, unreachable teacher server, unknown
environment) are one line on stderr and exit status 2; so is a run that accepted no trajectory at all. A run holds
the lock of its --out dir (a shard, its shard's lock): a second one there stops with one line naming the first.
"""

from __future__ import annotations

import argparse
import json
import re

from funreason.core.errors import UserError
from funreason.core.layout import RunLayout
from funreason.core.lock import stage_lock
from funreason.core.recipe import add_recipe_arguments, recipe_from_args
from funreason.envs.dispatch import set_default_limits
from funreason.synth.heldout import write_splits
from funreason.synth.pipeline import run


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not (0 <= int(m.group(1)) < int(m.group(2))):
        raise UserError(f"--shard {text!r}: expected i/n with 0 <= i < n, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason synth", description=__doc__.split("\n\n")[0])
    add_recipe_arguments(parser)
    parser.add_argument("--resume", action="store_true", help="Continue a run in --out; finished work is kept.")
    parser.add_argument("--shard", default="0/1", help="i/n: synthesize trajectory indices with index %% n == i.")
    parser.add_argument("--out", default=None, help="Output directory (default: <run_dir>/synth).")
    parser.add_argument(
        "--flush-every",
        type=int,
        default=32,
        help="Store finished trajectories after every N (or every 2 s): what a kill can cost at most.",
    )
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
    parser.add_argument(
        "--heldout",
        type=int,
        default=0,
        help="After synthesis, N more trajectories per held-out split (valid, test), written as BFCL question and "
        "answer files under <out>/heldout/ (synth/heldout.py).",
    )
    args = parser.parse_args(argv)
    shard = parse_shard(args.shard)
    recipe = recipe_from_args(args)
    if recipe.synth is None:
        raise UserError(f"recipe {args.config} has no `synth:` section")

    set_default_limits(recipe.execution)  # every call synthesis executes (workers fork from here)
    out = args.out or str(RunLayout.of(recipe).synth_dir)
    # Shards of one run write to one dir from several processes by design: each shard locks its own lock file
    # (two copies of one shard are refused), a plain run locks the dir (what `funreason run` locks too).
    k, n = shard
    name = ".lock" if shard == (0, 1) else f".lock-shard-{k}of{n}"
    with stage_lock(out, f"funreason synth --shard {k}/{n}", name=name):
        summary = run(
            recipe.synth,
            out,
            seed=recipe.seed,
            resume=args.resume,
            shard=shard,
            progress=not args.no_progress,
            flush_every=max(1, args.flush_every),
            tokenizer=recipe.model,
        )
    print(json.dumps(summary))
    if summary.get("complete") and summary.get("accepted") == 0:
        raise UserError(
            f"synthesis accepted 0 of {summary.get('attempted')} trajectories; the dataset in {out} is empty "
            f"(the rejections are counted in {out}/stats.json)"
        )
    if args.heldout and summary.get("complete"):
        with stage_lock(out, "funreason synth --heldout"):
            print(json.dumps(write_splits(recipe.synth, out, recipe.seed, args.heldout, tokenizer=recipe.model)))
    return 0
