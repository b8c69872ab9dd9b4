"""The `sft` recipe section. Any TRL `SFTConfig` field may also be set in it (validated against TRL).

sft:
  layout: per_turn                 # or full
  datasets:                        # default: <run_dir>/synth/dataset
    - {path: runs/a/synth/dataset, weight: 1.0}
    - {path: data/xlam_style.jsonl, weight: 0.5}
  lora: {r: 16, lora_alpha: 32}    # omit for a full fine-tune
  merge_lora: true
  max_steps: 200                   # ...and any other TRL SFTConfig / TrainingArguments field
  learning_rate: 1.0e-5
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


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


@dataclass
class SFTSection:
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
    model: str | None = field(default=None, metadata={"help": "Model to fine-tune; default: the recipe's `model`."})
    lora: LoraSection | None = field(
        default=None, metadata={"help": "Train LoRA adapters (peft) instead of all weights; omit for a full fine-tune."}
    )
    merge_lora: bool = field(
        default=False, metadata={"help": "Merge the LoRA adapters into the base weights when saving `final`."}
    )
    liger: bool = field(
        default=False, metadata={"help": "Use Liger kernels (use_liger_kernel) when liger-kernel is installed."}
    )
    accelerate_config: str | None = field(
        default=None,
        metadata={
            "help": "accelerate_configs/<name>.yaml used by `funreason run`; default single_gpu on a GPU, "
            "one plain process on CPU."
        },
    )
    output_dir: str | None = field(default=None, metadata={"help": "Checkpoints and `final/`; default <run_dir>/sft."})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL SFTConfig fields."})
