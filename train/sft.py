"""Supervised fine-tuning with TRL's SFTTrainer on synthesized conversations (the recipe's `sft:` section).

    # one GPU, or one CPU process
    accelerate launch train/sft.py --config recipes/smoke.yaml
    # 8 GPUs, DeepSpeed ZeRO-3 (the FunReason-MT reference run)
    accelerate launch --config_file accelerate_configs/zero3.yaml train/sft.py --config recipes/qwen3_4b_funreason_mt.yaml
    # two CPU processes (gloo) / ZeRO-2 on CPU
    accelerate launch --config_file accelerate_configs/cpu_2proc.yaml train/sft.py --config recipes/smoke.yaml
    DS_ACCELERATOR=cpu accelerate launch --config_file accelerate_configs/zero2_cpu.yaml train/sft.py --config recipes/smoke.yaml
    # overrides (unprefixed keys belong to `sft`), LoRA
    accelerate launch train/sft.py --config recipes/smoke.yaml max_steps=50 learning_rate=1e-4 lora.r=8 merge_lora=true
    # a rerun continues from the newest complete checkpoint; --fresh starts over (old checkpoints moved aside)
    accelerate launch train/sft.py --config recipes/smoke.yaml --fresh

Any TRL `SFTConfig` field can be set in the recipe's `sft:` section or as an override; the project's own fields
(layout, datasets, lora, merge_lora, liger, max_dropped_fraction, model, output_dir, accelerate_config) are in
core/sections/train.py (SFTSection). Rows that cannot be trained on are dropped and named in train_summary.json
(`dropped`); more than sft.max_dropped_fraction of them refuses the run before the model loads (docs/bad-input.md).
Examples are rendered by `chat.render` (token-identical to eval prompts) and handed to SFTTrainer pre-tokenized.
Outputs: checkpoints in <run_dir>/sft/checkpoint-*, the final model with its tokenizer and the resolved recipe in
<run_dir>/sft/final, tensorboard logs in <run_dir>/sft/runs, and <run_dir>/sft/train_summary.json.
"""

from __future__ import annotations

from pathlib import Path

from funreason.train.common import setup_environment

setup_environment()

from funreason.core.atomic import atomic_write_json  # noqa: E402
from funreason.core.layout import RunLayout  # noqa: E402
from funreason.core.recipe import Recipe  # noqa: E402
from funreason.core.sections.train import DatasetSpec, SFTSection  # noqa: E402
from funreason.train.common import (  # noqa: E402
    device_defaults,
    load_model,
    load_tokenizer,
    lock_output_dir,
    lora_config,
    parse_script_args,
    resume_checkpoint,
    run_script,
    save_final,
    trl_config,
)


def output_dir(recipe: Recipe) -> Path:
    return RunLayout.of(recipe).sft_dir


def dataset_specs(recipe: Recipe) -> list[DatasetSpec]:
    return list(recipe.sft.datasets) or [DatasetSpec(str(RunLayout.of(recipe).dataset))]


def sft_config(recipe: Recipe):
    """TRL SFTConfig: project defaults, hardware defaults, then the recipe's own TRL fields."""
    from trl import SFTConfig

    section: SFTSection = recipe.sft
    defaults = {
        "output_dir": str(output_dir(recipe)),
        "seed": recipe.seed,
        "report_to": ["tensorboard"],
        "logging_steps": 10,
        "save_total_limit": 2,
        **device_defaults(),
    }
    user = dict(section.extra)
    # Our examples carry their own assistant mask (chat.render); TRL's template-based masking is for raw
    # conversations and refuses pre-tokenized rows, so it is always off here.
    user.pop("assistant_only_loss", None)
    defaults["assistant_only_loss"] = False
    if section.liger:
        import importlib.util

        if importlib.util.find_spec("liger_kernel") is None:
            print("[sft] sft.liger is set but liger-kernel is not installed; training without Liger kernels")
        else:
            defaults["use_liger_kernel"] = True
    return trl_config(SFTConfig, defaults, user)


def main(argv: list[str] | None = None) -> dict:
    # Deferred with trl: these import torch and datasets, which `accelerate launch` pays for in every process anyway,
    # but `--help` and recipe errors should not.
    from funreason.train.data import build_sft_dataset, new_report
    from funreason.train.fused_head import score_trained_positions_only
    from trl import SFTTrainer

    args, recipe = parse_script_args(__doc__, "sft", argv)
    section: SFTSection = recipe.sft
    config = sft_config(recipe)
    lock_output_dir(config, "sft")  # before anything is loaded or written: a second run stops here, in one line
    model_path = section.model or recipe.model
    tokenizer = load_tokenizer(model_path)
    # Rows that cannot be trained on are dropped and named (train/data.py); a dataset with too many of them, or
    # none left, is refused here, before the model loads.
    dropped = new_report()
    with config.main_process_first(desc="rendering SFT examples"):
        dataset = build_sft_dataset(
            tokenizer,
            dataset_specs(recipe),
            recipe.chat,
            layout=section.layout,
            seed=recipe.seed,
            progress=config.process_index == 0,
            drop_reasoning=section.reasoning == "drop",
            max_length=config.max_length,
            report=dropped,
            max_dropped_fraction=section.max_dropped_fraction,
        )
    # We load the model ourselves (SFTTrainer would ignore model_init_kwargs for an instance), so honour them here.
    model = load_model(model_path, bf16=config.bf16, **(config.model_init_kwargs or {}))
    config.model_init_kwargs = None
    score_trained_positions_only()
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(section.lora, "sft"),
    )
    resume = resume_checkpoint(args, config, "sft")
    result = trainer.train(resume_from_checkpoint=resume)
    out = output_dir(recipe)
    merge_base = model_path if section.lora is not None and section.merge_lora else None
    final = save_final(trainer, tokenizer, recipe, RunLayout.of(recipe).sft_final, base_model=merge_base)
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    summary = {
        "final_model": str(final),
        "steps": trainer.state.global_step,
        "final_loss": losses[-1] if losses else result.training_loss,
        "train_loss": result.training_loss,
        "examples": len(dataset),
        # dropped, never trained on silently (train/data.py): rows by reason, each named; examples over max_length
        "max_length": config.max_length,
        "dropped": dropped,
        "layout": section.layout,
        "resumed_from": resume,
        "world_size": config.world_size,
        "mixed_precision": str(trainer.accelerator.mixed_precision),
        "weights_dtype": str(next(model.parameters()).dtype),
        "distributed_type": str(trainer.accelerator.distributed_type),
        "loss_curve": [[e["step"], e["loss"]] for e in trainer.state.log_history if "loss" in e],
    }
    if trainer.accelerator.is_main_process:
        atomic_write_json(out / "train_summary.json", summary)
        print(f"[sft] done: {summary}")
    return summary


if __name__ == "__main__":
    run_script(main)
