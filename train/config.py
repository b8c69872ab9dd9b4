"""The `sft` and `grpo` recipe sections. Any TRL SFTConfig / GRPOConfig field may also be set in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SFTSection:
    passthrough = "trl:SFTConfig"

    layout: str = field(default="per_turn", metadata={"help": "per_turn (one example per assistant turn) or full."})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL SFTConfig fields."})


@dataclass
class GRPOSection:
    passthrough = "trl:GRPOConfig"

    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL GRPOConfig fields."})
