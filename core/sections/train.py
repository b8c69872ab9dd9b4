"""The `sft` and `grpo` recipe sections: what both training stages share lives in `TrainingSection`.

Any TRL `SFTConfig` (sft) or `GRPOConfig` (grpo) field may also be set in a section (validated against TRL,
collected in `extra`, passed to TRL as it is).

sft:
  layout: per_turn                 # or full
  datasets:                        # default: <run_dir>/synth/dataset
    - {path: runs/a/synth/dataset, weight: 1.0}
    - {path: data/xlam_style.jsonl, weight: 0.5}
  lora: {r: 16, lora_alpha: 32}    # omit for a full fine-tune
  merge_lora: true
  max_dropped_fraction: 0.05       # refuse (before the model loads) when more rows than this cannot be trained on
  max_steps: 200                   # ...and any other TRL SFTConfig / TrainingArguments field
  learning_rate: 1.0e-5

grpo:
  max_tool_steps: 20               # tool-calling steps per user turn (BFCL's limit)
  turn_reward_weight: 1.0          # BFCL turn success (state + response check)
  format_reward_weight: 0.1        # every step parsed, the turn ended on its own, and it acted as needed
  turn_reward: strict              # or partial: share of the turn's ground-truth changes and results reproduced
  dynamic_sampling: skip           # none (default), skip or resample: groups whose rewards are all equal
  heldout_every: 10                # held-out turn success every 10 steps (needs a held-out split: synth.heldout)
  egpo: true                       # entropy-enhanced advantage (EGPO)
  accelerate_config: zero3         # how `funreason run` launches it, as for sft
  num_generations: 8               # ... and any TRL GRPOConfig field
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from funreason.core.sections.checks import at_least, ratio, trl_values


@dataclass
class DatasetSpec:
    path: str = field(
        metadata={
            "help": "A synth output dir (<run_dir>/synth/dataset, datasets.save_to_disk) or a local .jsonl/.json/"
            ".parquet file or save_to_disk dir in the same conversational format (messages + tools)."
        }
    )
    weight: float = field(
        default=1.0,
        metadata={"help": "Mixing weight: how many passes over this dataset's conversations (0.5 = a seeded half)."},
    )


@dataclass
class LoraSection:
    passthrough = "peft:LoraConfig"

    r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA path."})
    target_modules: str | list[str] = field(
        default="all-linear", metadata={"help": "Modules to adapt ('all-linear' or a list of names)."}
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "Other peft LoraConfig fields."})

    def __post_init__(self):
        at_least("lora.r", self.r, 1)
        ratio("lora.lora_dropout", self.lora_dropout)


@dataclass
class TrainingSection:
    """Keys both training stages have: where the model comes from, LoRA, how `funreason run` launches, outputs."""

    model: str | None = field(
        default=None,
        metadata={"help": "Model to start from; default: sft the recipe's `model`, grpo the SFT stage's final model."},
    )
    lora: LoraSection | None = field(
        default=None, metadata={"help": "Train LoRA adapters (peft) instead of all weights; omit for a full fine-tune."}
    )
    merge_lora: bool = field(
        default=False, metadata={"help": "Merge the LoRA adapters into the base weights when saving `final`."}
    )
    accelerate_config: str | None = field(
        default=None,
        metadata={
            "help": "accelerate_configs/<name>.yaml used by `funreason run`; default single_gpu on a GPU, "
            "one plain process on CPU."
        },
    )
    output_dir: str | None = field(
        default=None,
        metadata={"help": "Checkpoints and `final/`; default <run_dir>/<stage>. Every consumer follows it."},
    )


@dataclass
class SFTSection(TrainingSection):
    passthrough = "trl:SFTConfig"

    layout: Literal["per_turn", "full"] = field(
        default="per_turn",
        metadata={
            "help": "per_turn: one example per assistant message, loss on that message only (the paper's choice); "
            "full: one example per conversation, loss on every assistant message."
        },
    )
    reasoning: Literal["train", "drop"] = field(
        default="train",
        metadata={
            "help": "train: assistant turns keep their <think> reasoning (the paper); drop: strip it before rendering "
            "(a no-CoT ablation; prompts are unchanged when chat.history_reasoning is drop)."
        },
    )
    datasets: list[DatasetSpec] = field(
        default_factory=list, metadata={"help": "Training data with mixing weights; default <run_dir>/synth/dataset."}
    )
    liger: bool = field(
        default=False, metadata={"help": "Use Liger kernels (use_liger_kernel) when liger-kernel is installed."}
    )
    max_dropped_fraction: float = field(
        default=0.05,
        metadata={
            "help": "Rows that cannot be trained on (malformed, undeclared tools, arguments off-schema, over "
            "max_length...) are dropped, counted and named in train_summary.json; the run is refused before the "
            "model loads when more than this share of the rows is dropped (1.0 = never)."
        },
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL SFTConfig fields."})

    def __post_init__(self):
        ratio("sft.max_dropped_fraction", self.max_dropped_fraction)
        for spec in self.datasets:
            at_least("sft.datasets[].weight", spec.weight, 0, strict=True)
        trl_values("sft", self.extra)


@dataclass
class GRPOSection(TrainingSection):
    passthrough = "trl:GRPOConfig"

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
    turn_reward: Literal["strict", "partial"] = field(
        default="strict",
        metadata={
            "help": "The turn term weighted by turn_reward_weight: 'strict' = BFCL's 0/1 turn success (EGPO's "
            "reward); 'partial' = share of the turn's ground-truth state changes and results reproduced "
            "(envs.rewards.partial_credit, 1.0 exactly when the turn passes). Both are logged either way."
        },
    )
    dynamic_sampling: Literal["none", "skip", "resample"] = field(
        default="none",
        metadata={
            "help": "Groups whose rollouts all earned the same reward (zero variance, no gradient): 'none' keeps "
            "them (TRL), 'skip' leaves them out of the loss, 'resample' rolls them out again (resample_tries) "
            "and skips those still flat. Counted per step as dynamic_sampling/*."
        },
    )
    resample_tries: int = field(
        default=2, metadata={"help": "dynamic_sampling=resample: retries of a flat group before it is skipped."}
    )
    heldout_every: int = field(
        default=0,
        metadata={
            "help": "Every N optimizer steps (and at the end), greedy turn success on the held-out tasks, logged "
            "as heldout/turn_success; 0 = never."
        },
    )
    heldout_dataset: str | None = field(
        default=None,
        metadata={
            "help": "Held-out synth records (JSONL) for heldout_every; default <run_dir>/synth/heldout/valid_records.jsonl."
        },
    )
    heldout_tasks: int = field(default=32, metadata={"help": "Held-out tasks scored each time (the first N)."})
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
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL GRPOConfig fields."})

    def __post_init__(self):
        at_least("grpo.max_tasks", self.max_tasks, 1)
        at_least("grpo.max_tool_steps", self.max_tool_steps, 1)
        at_least("grpo.turn_reward_weight", self.turn_reward_weight, 0)
        at_least("grpo.format_reward_weight", self.format_reward_weight, 0)
        at_least("grpo.resample_tries", self.resample_tries, 0)
        at_least("grpo.heldout_every", self.heldout_every, 0)
        at_least("grpo.heldout_tasks", self.heldout_tasks, 1)
        at_least("grpo.egpo_alpha", self.egpo_alpha, 0)
        at_least("grpo.egpo_kappa", self.egpo_kappa, 1, strict=True)
        trl_values("grpo", self.extra)
