"""RL with environment rollouts and verifiable rewards: TRL's GRPOTrainer on the recipe's `grpo:` section.

    # one GPU (vLLM colocate: grpo.use_vllm=true) or one CPU process (transformers generation)
    accelerate launch train/grpo.py --config recipes/smoke.yaml
    # 8 GPUs, DeepSpeed ZeRO-3, vLLM colocated with the trainer
    accelerate launch --config_file accelerate_configs/zero3.yaml train/grpo.py \\
        --config recipes/qwen3_4b_funreason_mt.yaml use_vllm=true vllm_mode=colocate
    # overrides (unprefixed keys belong to `grpo`), LoRA, EGPO, resume after a kill
    accelerate launch train/grpo.py --config recipes/smoke.yaml max_steps=20 num_generations=4 lora.r=8 egpo=true
    accelerate launch train/grpo.py --config recipes/smoke.yaml --resume

Tasks are the user turns of the synthesized trajectories (train/rl_tasks.py); each rollout plays that turn against
live environments (BFCL classes or the `module:Class` ones synthesis used, resolved by envs/resolve.py) through our
renderer and dispatcher (train/rollout.py), and the rewards are BFCL turn success and
format (envs/rewards.py), weighted by `turn_reward_weight` / `format_reward_weight`. The policy starts from
`grpo.model`, else <run_dir>/sft/final when it exists, else the recipe's `model`. Outputs: checkpoints in
<run_dir>/grpo/checkpoint-*, the final model in <run_dir>/grpo/final, tensorboard logs and
<run_dir>/grpo/train_summary.json. Any TRL `GRPOConfig` field can be set in the section or as an override.
"""

from __future__ import annotations

from pathlib import Path

from train.common import setup_environment

setup_environment()

from core.atomic import atomic_write_json  # noqa: E402
from core.errors import UserError  # noqa: E402
from core.layout import RunLayout  # noqa: E402
from core.recipe import Recipe  # noqa: E402
from core.sections.train import GRPOSection  # noqa: E402
from envs.dispatch import set_default_limits  # noqa: E402
from train.common import (  # noqa: E402
    device_defaults,
    load_model_and_tokenizer,
    lora_config,
    parse_script_args,
    resume_checkpoint,
    run_script,
    save_final,
    trl_config,
)
from train.fused_head import score_trained_positions_only  # noqa: E402
from train.rl_tasks import build_tasks, tasks_to_dataset  # noqa: E402


def output_dir(recipe: Recipe) -> Path:
    return RunLayout.of(recipe).grpo_dir


def policy_path(recipe: Recipe) -> Path:
    if recipe.grpo.model:
        return Path(recipe.grpo.model)
    sft_final = RunLayout.of(recipe).sft_final
    return sft_final if sft_final.is_dir() else Path(recipe.model)


def grpo_config(recipe: Recipe):
    """TRL GRPOConfig: project defaults, hardware defaults, then the recipe's own TRL fields."""
    from trl import GRPOConfig  # deferred: heavy (torch); `--help` and recipe errors should not pay for it

    section: GRPOSection = recipe.grpo
    out = output_dir(recipe)
    defaults = {
        "output_dir": str(out),
        "seed": recipe.seed,
        "report_to": ["tensorboard"],
        "logging_steps": 1,
        "save_total_limit": 2,
        "reward_weights": [section.turn_reward_weight, section.format_reward_weight],
        **device_defaults(),
    }
    return trl_config(GRPOConfig, defaults, dict(section.extra))


def load_policy(path: Path, bf16: bool):
    """The policy and its tokenizer (train.common's loader: an unmerged SFT adapter is merged), padded left."""
    model, tokenizer = load_model_and_tokenizer(path, bf16, what="policy model")
    tokenizer.padding_side = "left"
    return model, tokenizer


def load_tasks(recipe: Recipe):
    from datasets import load_from_disk  # deferred: heavy (pyarrow, pandas)

    path = Path(recipe.grpo.dataset or RunLayout.of(recipe).dataset)
    if not path.exists():
        raise UserError(f"RL dataset {path} not found (run `funreason synth` first or set grpo.dataset)")
    return build_tasks(load_from_disk(str(path)), limit=recipe.grpo.max_tasks, options=recipe.chat)


def build_trainer(recipe: Recipe, config=None):
    """The trainer for a recipe (also used by benchmarks/grpo_step.py)."""
    from train.rollout import EnvRollout, RolloutGRPOTrainer, reward_functions  # deferred: imports torch and trl

    score_trained_positions_only()
    section: GRPOSection = recipe.grpo
    config = config or grpo_config(recipe)
    model, tokenizer = load_policy(policy_path(recipe), bf16=config.bf16)
    with config.main_process_first(desc="building RL tasks"):
        dataset = tasks_to_dataset(load_tasks(recipe))
    rollout = EnvRollout(tokenizer, recipe.chat, section.max_tool_steps, config.max_completion_length)
    egpo = None
    if section.egpo:
        egpo = {
            "alpha": section.egpo_alpha,
            "kappa": section.egpo_kappa,
            "scope": section.egpo_scope,
            "think_prefill": recipe.chat.think_prefill,
        }
    return RolloutGRPOTrainer(
        model=model,
        reward_funcs=reward_functions(),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(section.lora, "grpo"),
        rollout_func=rollout,
        egpo=egpo,
    )


def main(argv: list[str] | None = None) -> dict:
    args, recipe = parse_script_args(__doc__, "grpo", argv)
    set_default_limits(recipe.execution)  # rollouts and rewards execute the model's calls
    section: GRPOSection = recipe.grpo
    trainer = build_trainer(recipe)
    config = trainer.args
    resume = resume_checkpoint(args, config, "grpo")  # newest complete checkpoint unless --fresh; takes the lock
    result = trainer.train(resume_from_checkpoint=resume)
    out = output_dir(recipe)
    merge_base = policy_path(recipe) if section.lora is not None and section.merge_lora else None
    final = save_final(
        trainer, trainer.processing_class, recipe, RunLayout.of(recipe).grpo_final, base_model=merge_base
    )
    history = trainer.state.log_history
    summary = {
        "final_model": str(final),
        "policy": str(policy_path(recipe)),
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "tasks": len(trainer.train_dataset),
        "resumed_from": resume,
        "reward_curve": [[e["step"], e["reward"]] for e in history if "reward" in e],
        "turn_success_curve": [[e["step"], e["rewards/turn_success/mean"]] for e in history if "reward" in e],
        "log_history": history,
    }
    if trainer.accelerator.is_main_process:
        atomic_write_json(out / "train_summary.json", summary)
        print(f"[grpo] done: {summary}")
    return summary


if __name__ == "__main__":
    run_script(main)
