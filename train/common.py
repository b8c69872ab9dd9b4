"""Helpers shared by the training scripts (train/sft.py, train/grpo.py): arguments, device defaults, models, saving.

    from funreason.train.common import parse_script_args, device_defaults, trl_config, load_model_and_tokenizer
    args, recipe = parse_script_args(__doc__, section="sft")          # --config X.yaml [key=value ...] [--resume]
    config = trl_config(SFTConfig, defaults={...}, user=recipe.sft.extra)   # device defaults + user values

Overrides without a section prefix apply to the script's own section: `max_steps=10` means `sft.max_steps=10`
inside train/sft.py. The device defaults make one recipe run unchanged on a GPU node and on a CPU (docs/stack.md
§2, §10): bf16 only on a bf16-capable GPU, `use_cpu` + gloo on CPU, and no `use_cpu` under DeepSpeed (it would
bypass the DeepSpeed engine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from funreason.core.errors import DISK_ERRORS, RecipeError, UserError, disk_error
from funreason.core.layout import FINAL
from funreason.core.lock import hold
from funreason.core.modelfiles import check_tokenizer_files, loading, require_model_dir, weights_problem
from funreason.core.recipe import Recipe, load_recipe, save_resolved

RECIPE_STAGES = ("synth", "sft", "grpo", "eval", "report", "chat", "tiny")
TOP_LEVEL_KEYS = ("model", "run_dir", "seed", "execution")


def setup_environment() -> None:
    """Environment every training process needs before torch/deepspeed are imported."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if not has_gpu():
        # Without it deepspeed (imported by transformers when installed) probes for CUDA and warns on every rank.
        os.environ.setdefault("DS_ACCELERATOR", "cpu")


def has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def under_deepspeed() -> bool:
    """True inside `accelerate launch` with a DeepSpeed config."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"


def qualify_overrides(overrides: list[str], section: str) -> list[str]:
    """`max_steps=5` -> `sft.max_steps=5`; keys that already name a section or a top-level key are kept."""
    out = []
    for item in overrides:
        key = item.partition("=")[0].strip()
        head = key.split(".")[0]
        out.append(item if head in RECIPE_STAGES or head in TOP_LEVEL_KEYS else f"{section}.{item}")
    return out


def parse_script_args(doc: str, section: str, argv: list[str] | None = None) -> tuple[argparse.Namespace, Recipe]:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--config", required=True, help="Recipe YAML (see recipes/).")
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--resume",
        action="store_true",
        help="Continue from the newest complete checkpoint in the output dir (the default; kept for old commands).",
    )
    start.add_argument(
        "--fresh",
        action="store_true",
        help="Start from step 0 even though the output dir holds checkpoints; they are moved into "
        "<output_dir>/superseded-<time>/, never deleted.",
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help=f"Overrides, e.g. max_steps=10 (= {section}.max_steps=10)."
    )
    args = parser.parse_args(argv)
    recipe = load_recipe(args.config, qualify_overrides(args.overrides, section))
    if getattr(recipe, section) is None:
        raise RecipeError(f"recipe {args.config} has no `{section}:` section")
    return args, recipe


def device_defaults() -> dict[str, Any]:
    """TrainingArguments defaults that depend on the hardware (the user's recipe values override them)."""
    if has_gpu():
        import torch

        return {"bf16": torch.cuda.is_bf16_supported(), "ddp_find_unused_parameters": False}
    defaults: dict[str, Any] = {
        "bf16": False,
        "fp16": False,
        "ddp_find_unused_parameters": False,
        "activation_checkpointing": False,  # costs time and saves nothing that matters at CPU scale
    }
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 or under_deepspeed():
        # accelerate finds no device backend on CPU and would run ranks unconnected; a lone process needs none.
        defaults["ddp_backend"] = "gloo"
    if not under_deepspeed():
        # use_cpu also turns the MULTI_GPU (torchrun) launcher into gloo CPU ranks (accelerate_configs/cpu_2proc.yaml).
        defaults["use_cpu"] = True
    return defaults


def trl_config(cls: type, defaults: dict[str, Any], user: dict[str, Any]):
    """Build a TRL config: `defaults`, then the recipe's values on top. TRL's own errors name the bad field."""
    values = {**defaults, **user}
    for key, value in values.items():
        # YAML 1.1 reads a bare `no` as false: `save_strategy: no` / `eval_strategy=no` mean the string here.
        if key.endswith("_strategy") and value is False:
            values[key] = "no"
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise UserError(f"invalid {cls.__name__} settings: {e}") from e


def weight_dtype(bf16: bool):
    """The dtype to load trained weights in. `bf16` on a GPU: bf16 weights (the usual large-model recipe; DeepSpeed
    keeps fp32 masters). `bf16` on a CPU: fp32 weights under bf16 autocast (the Trainer's mixed precision), since
    the optimizer's small updates vanish in bf16 weights and a CPU has the memory for fp32. (Measured on the smoke
    SFT, 2 AVX512-BF16 cores: no faster than fp32, 1.64 vs ~1.6 s/step, so CPU recipes leave it off.)"""
    import torch

    return torch.bfloat16 if bf16 and has_gpu() else torch.float32


def load_model_and_tokenizer(path: str | Path, bf16: bool = False, what: str = "model", **model_kwargs):
    """A causal LM and its tokenizer from a local directory (nothing is downloaded); a LoRA adapter directory (an
    unmerged SFT) is merged into its base first. `what` names the model in error messages. `model_kwargs` go to
    `from_pretrained` (the recipe's `model_init_kwargs`, e.g. `attn_implementation: flash_attention_2`)."""
    tokenizer = load_tokenizer(path, what)
    return load_model(path, bf16, what, **model_kwargs), tokenizer


def _is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and not (path / "config.json").is_file()


def load_tokenizer(path: str | Path, what: str = "model"):
    """The tokenizer of a local model directory, checked as `load_model_and_tokenizer` checks it; SFT renders its
    data with it before the model loads, so a dataset that is refused costs no model load."""
    from transformers import AutoTokenizer

    path = Path(path)
    if not _is_adapter(path):
        require_model_dir(path, what)
    check_tokenizer_files(path)
    with loading(path, "tokenizer"):
        return AutoTokenizer.from_pretrained(path)


def load_model(path: str | Path, bf16: bool = False, what: str = "model", **model_kwargs):
    """The model of a local directory (after `load_tokenizer` checked it); a LoRA adapter is merged into its base."""
    from transformers import AutoModelForCausalLM

    path = Path(path)
    model_kwargs.setdefault("dtype", weight_dtype(bf16))
    with loading(path, what):
        if _is_adapter(path):
            from peft import AutoPeftModelForCausalLM  # deferred: heavy, and only LoRA adapter inputs need it

            return AutoPeftModelForCausalLM.from_pretrained(path, **model_kwargs).merge_and_unload()
        return AutoModelForCausalLM.from_pretrained(path, **model_kwargs)


def _numbered_checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    """(step, dir) of every `checkpoint-N` directly in `output_dir`, newest first."""
    numbered = []
    for d in output_dir.iterdir() if output_dir.is_dir() else []:
        prefix, _, step = d.name.partition("-")
        if d.is_dir() and prefix == "checkpoint" and step.isdigit():
            numbered.append((int(step), d))
    return sorted(numbered, reverse=True)


def checkpoint_problem(checkpoint: str | Path) -> str | None:
    """None when a `checkpoint-N` dir can be resumed from; else why not.

    The Trainer writes `trainer_state.json` after the weights and optimizer state, so without it a checkpoint is
    torn; with it, the weights, optimizer and RNG files are still checked (a crash of the machine, a full disk or a
    copy can truncate them after the fact), by their headers and sizes only."""
    checkpoint = Path(checkpoint)
    state = checkpoint / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "trainer_state.json is not valid JSON"
    return weights_problem(checkpoint)


def last_checkpoint(output_dir: str | Path) -> str | None:
    """The newest COMPLETE `checkpoint-N` in `output_dir`, or None (transformers' get_last_checkpoint takes the
    highest N even when a kill tore it, and resuming from it then fails). Torn ones are skipped with a message."""
    for _, d in _numbered_checkpoints(Path(output_dir)):
        problem = checkpoint_problem(d)
        if problem is None:
            return str(d)
        print(f"[train] skipping incomplete checkpoint {d} ({problem})")
    return None


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def _move_aside(paths: list[Path], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for p in paths:
        p.rename(dest / p.name)


def lock_output_dir(config, stage: str) -> None:
    """The main process holds `config.output_dir`'s lock until it exits: a second run of the same stage on the same
    dir stops with one line naming this one (under `funreason run` the launching pipeline holds it already)."""
    if config.process_index == 0:
        hold(config.output_dir, stage)


def resume_checkpoint(args: argparse.Namespace, config, stage: str) -> str | None:
    """Where a training script starts: the newest complete checkpoint of `config.output_dir` (the default), or step
    0 with `--fresh`. Nothing is deleted, ever:

    - torn checkpoints are moved into `<output_dir>/torn-<time>/` (kept for inspection, and out of the way of the
      Trainer's `save_total_limit` rotation, which would otherwise count them and delete whole ones);
    - with `--fresh`, the checkpoints and the final model already there are moved into
      `<output_dir>/superseded-<time>/`, so the rotation of this run can only delete checkpoints this run wrote.

    The main process first takes the output dir's lock (core.lock) for the rest of its life, then moves; then every
    process picks the same checkpoint (`main_process_first`)."""
    out = Path(config.output_dir)
    main = config.process_index == 0
    lock_output_dir(config, stage)
    with config.main_process_first(desc="choosing the checkpoint to start from", local=False):
        if main and out.is_dir():
            torn = [d for _, d in _numbered_checkpoints(out) if checkpoint_problem(d) is not None]
            if torn:
                dest = out / f"torn-{_stamp()}"
                for d in torn:
                    print(f"[{stage}] checkpoint {d} is incomplete ({checkpoint_problem(d)}); moved into {dest}")
                _move_aside(torn, dest)
            if getattr(args, "fresh", False):
                old = [d for _, d in _numbered_checkpoints(out)]
                old += [out / name for name in (FINAL, "adapter") if (out / name).exists()]
                if old:
                    dest = out / f"superseded-{_stamp()}"
                    _move_aside(old, dest)
                    print(f"[{stage}] --fresh: moved {', '.join(p.name for p in old)} into {dest}")
        resume = None if getattr(args, "fresh", False) else last_checkpoint(out)
    if main:
        print(
            f"[{stage}] resuming from {resume}" if resume else f"[{stage}] starting at step 0 (no checkpoint in {out})"
        )
    return resume


def save_final(trainer, tokenizer, recipe: Recipe, final_dir: str | Path, base_model: str | Path | None = None) -> Path:
    """Save the trained model, its tokenizer and the resolved recipe into `final_dir`.

    With `base_model` (a LoRA run asked to merge), the adapter goes to `<final_dir>/../adapter` and `final_dir`
    receives base + adapter merged, rebuilt from the files on disk so it works the same under ZeRO-3/FSDP sharding.
    """
    final_dir = Path(final_dir)
    target = final_dir.parent / "adapter" if base_model is not None else final_dir
    trainer.save_model(str(target))
    if trainer.accelerator.is_main_process:
        if base_model is not None:
            merge_adapter(base_model, target, final_dir)
        tokenizer.save_pretrained(final_dir)
        save_resolved(recipe, final_dir)
    trainer.accelerator.wait_for_everyone()
    return final_dir


def merge_adapter(base_model: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """base + LoRA adapter -> one plain model directory (loadable without peft)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    with loading(base_model, "base model"):
        base = AutoModelForCausalLM.from_pretrained(base_model, dtype="auto")
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out_dir)
    return Path(out_dir)


def lora_config(lora, section_name: str):
    """peft LoraConfig from a recipe's `<section>.lora` (None: full fine-tune)."""
    if lora is None:
        return None
    from peft import LoraConfig

    try:
        return LoraConfig(
            r=lora.r,
            lora_alpha=lora.lora_alpha,
            lora_dropout=lora.lora_dropout,
            target_modules=lora.target_modules,
            task_type="CAUSAL_LM",
            **lora.extra,
        )
    except (TypeError, ValueError) as e:
        raise UserError(f"invalid {section_name}.lora settings: {e}") from e


def run_script(main) -> None:
    """Run a training script's main(): a UserError (bad recipe, missing data) is one line and its exit code."""
    try:
        main()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except OSError as e:
        if e.errno not in DISK_ERRORS:
            raise
        print(f"error: {disk_error(e)}", file=sys.stderr)
        sys.exit(2)
