"""The `grpo` recipe section: RL with environment rollouts (train/grpo.py).

    grpo:
      max_tool_steps: 20          # tool-calling steps per user turn (BFCL's limit)
      turn_reward_weight: 1.0     # BFCL turn success (state + response check)
      format_reward_weight: 0.1   # every step parsed in the recipe's tool-call format
      egpo: true                  # entropy-enhanced advantage (EGPO)
      lora: {r: 16, lora_alpha: 32}  # omit for a full fine-tune (as in sft)
      num_generations: 8          # ... and any TRL GRPOConfig field (validated against TRL)
      learning_rate: 1.0e-6

Keys that are not fields below are TRL `GRPOConfig` fields, collected in `extra` and passed to TRL as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from train.sft_config import LoraSection


@dataclass
class GRPOSection:
    passthrough = "trl:GRPOConfig"

    model: str | None = field(
        default=None,
        metadata={"help": "Policy to start from; default <run_dir>/sft/final if it exists, else the recipe's model."},
    )
    dataset: str | None = field(
        default=None, metadata={"help": "Synthesized dataset (datasets.save_to_disk); default <run_dir>/synth/dataset."}
    )
    max_tasks: int | None = field(
        default=None, metadata={"help": "Use only the first N RL tasks (one task per user turn); null = all."}
    )
    max_tool_steps: int = field(
        default=20, metadata={"help": "Cap on assistant steps within one user turn of a rollout (BFCL uses 20)."}
    )
    turn_reward_weight: float = field(
        default=1.0,
        metadata={"help": "Weight of the turn-success reward (BFCL state check, then response check)."},
    )
    format_reward_weight: float = field(
        default=0.1,
        metadata={"help": "Weight of the format reward (every step parsed cleanly and the turn ended on its own)."},
    )
    egpo: bool = field(
        default=False,
        metadata={"help": "Entropy-enhanced advantage (EGPO): add the reasoning tokens' entropy, sign-preserving."},
    )
    egpo_alpha: float = field(default=0.4, metadata={"help": "EGPO: scale of the entropy bonus."})
    egpo_kappa: float = field(
        default=2.0, metadata={"help": "EGPO: the bonus is clipped to |advantage| / kappa (kappa > 1 keeps the sign)."}
    )
    egpo_scope: Literal["reasoning", "all"] = field(
        default="reasoning",
        metadata={"help": "EGPO tokens: 'reasoning' (inside <think>...</think>, as the paper) or 'all' model tokens."},
    )
    lora: LoraSection | None = field(
        default=None, metadata={"help": "Train LoRA adapters (peft) instead of all weights, as in sft.lora."}
    )
    merge_lora: bool = field(
        default=False, metadata={"help": "Merge the LoRA adapters into the base weights when saving `final`."}
    )
    output_dir: str | None = field(default=None, metadata={"help": "Checkpoints and `final/`; default <run_dir>/grpo."})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL GRPOConfig fields."})
