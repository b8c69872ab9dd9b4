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
renderer and dispatcher (train/rollout.py), and the rewards are BFCL turn success (or, with `turn_reward: partial`,
the share of the turn's ground truth reproduced) and format (envs/rewards.py), weighted by `turn_reward_weight` /
`format_reward_weight`; `dynamic_sampling` resamples or skips groups whose rewards are all equal; `heldout_every`
scores held-out tasks during training (train/heldout_curve.py). train_summary.json holds the reward and held-out
curves and, per logged step, the diagnostics a user reads (`diagnostics`: reward mean/std, zero-variance share,
clipped share, completion length, entropy, KL). The policy starts from
`grpo.model`, else <run_dir>/sft/final when it exists, else the recipe's `model`. Outputs: checkpoints in
<run_dir>/grpo/checkpoint-*, the final model in <run_dir>/grpo/final, tensorboard logs and
<run_dir>/grpo/train_summary.json. Any TRL `GRPOConfig` field can be set in the section or as an override.
"""

from __future__ import annotations

from pathlib import Path

from funreason.train.common import setup_environment

setup_environment()

from funreason.core.atomic import atomic_write_json  # noqa: E402
from funreason.core.errors import UserError  # noqa: E402
from funreason.core.layout import RunLayout  # noqa: E402
from funreason.core.recipe import Recipe  # noqa: E402
from funreason.core.sections.train import GRPOSection  # noqa: E402
from funreason.envs.dispatch import set_default_limits  # noqa: E402
from funreason.train.common import (  # noqa: E402
    device_defaults,
    load_model_and_tokenizer,
    lora_config,
    parse_script_args,
    resume_checkpoint,
    run_script,
    save_final,
    trl_config,
)
from funreason.train.fused_head import score_trained_positions_only  # noqa: E402
from funreason.train.rl_tasks import build_tasks, tasks_to_dataset  # noqa: E402


def output_dir(recipe: Recipe) -> Path:
    return RunLayout.of(recipe).grpo_dir


def policy_path(recipe: Recipe) -> Path:
    if recipe.grpo.model:
        return Path(recipe.grpo.model)
    sft_final = RunLayout.of(recipe).sft_final
    return sft_final if sft_final.is_dir() else Path(recipe.model)


def grpo_config(recipe: Recipe):
    """TRL GRPOConfig: project defaults, hardware defaults, then the recipe's own TRL fields."""
    from funreason.train.rollout import reward_weights  # deferred: imports torch and trl
    from trl import GRPOConfig  # deferred: heavy (torch); `--help` and recipe errors should not pay for it

    section: GRPOSection = recipe.grpo
    out = output_dir(recipe)
    defaults = {
        "output_dir": str(out),
        "seed": recipe.seed,
        "report_to": ["tensorboard"],
        "logging_steps": 1,
        "save_total_limit": 2,
        "reward_weights": reward_weights(section.turn_reward, section.turn_reward_weight, section.format_reward_weight),
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
    from funreason.train.rollout import (  # deferred: imports torch and trl
        EnvRollout,
        RolloutGRPOTrainer,
        reward_functions,
    )

    score_trained_positions_only()
    section: GRPOSection = recipe.grpo
    config = config or grpo_config(recipe)
    model, tokenizer = load_policy(policy_path(recipe), bf16=config.bf16)
    with config.main_process_first(desc="building RL tasks"):
        dataset = tasks_to_dataset(load_tasks(recipe))
    rollout = EnvRollout(
        tokenizer,
        recipe.chat,
        section.max_tool_steps,
        config.max_completion_length,
        dynamic_sampling=section.dynamic_sampling,
        resample_tries=section.resample_tries,
        weights=list(config.reward_weights),
    )
    egpo = None
    if section.egpo:
        egpo = {
            "alpha": section.egpo_alpha,
            "kappa": section.egpo_kappa,
            "scope": section.egpo_scope,
            "think_prefill": recipe.chat.think_prefill,
        }
    trainer = RolloutGRPOTrainer(
        model=model,
        reward_funcs=reward_functions(),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(section.lora, "grpo"),
        rollout_func=rollout,
        egpo=egpo,
    )
    if section.heldout_every:
        from funreason.train.heldout_curve import HeldoutCallback, load_heldout_tasks  # deferred: only curves need it

        path = section.heldout_dataset or RunLayout.of(recipe).synth_dir / "heldout" / "valid_records.jsonl"
        greedy = EnvRollout(tokenizer, recipe.chat, section.max_tool_steps, config.max_completion_length)
        callback = HeldoutCallback(
            greedy, load_heldout_tasks(path, section.heldout_tasks, recipe.chat), section.heldout_every
        )
        trainer.add_callback(callback)
        callback.trainer = trainer
    return trainer


# Per logged step, what a user reads to tell a learning run from a stuck one (TRL's names; ours for the rest).
DIAGNOSTICS = {
    "reward": "reward",
    "reward_std": "reward_std",
    "zero_variance_share": "frac_reward_zero_std",
    "clipped_share": "completions/clipped_ratio",
    "completion_length": "completions/mean_length",
    "entropy": "entropy",
    "kl": "kl",
    "turn_success": "rewards/turn_success/mean",
    "partial_credit": "rewards/partial_credit/mean",
    "format": "rewards/format/mean",
    "flat_groups_skipped": "dynamic_sampling/skipped_group_share",
}


def diagnostics(history: list[dict]) -> list[dict]:
    """One row per logged training step: `step` and each of DIAGNOSTICS that TRL or we logged (kl only when
    beta > 0: TRL computes it against the reference model, which beta = 0 does not load)."""
    rows = []
    for entry in history:
        if "reward" not in entry:
            continue
        rows.append({"step": entry["step"], **{k: entry[v] for k, v in DIAGNOSTICS.items() if v in entry}})
    return rows


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
        "heldout_curve": [[e["step"], e["heldout/turn_success"]] for e in history if "heldout/turn_success" in e],
        "diagnostics": diagnostics(history),
        "log_history": history,
    }
    if trainer.accelerator.is_main_process:
        atomic_write_json(out / "train_summary.json", summary)
        print(f"[grpo] done: {summary}")
    return summary


if __name__ == "__main__":
    run_script(main)
