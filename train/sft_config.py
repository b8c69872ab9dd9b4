"""The `sft` recipe section. Any TRL `SFTConfig` field may also be set in it (validated against TRL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SFTSection:
    passthrough = "trl:SFTConfig"

    layout: str = field(default="per_turn", metadata={"help": "per_turn (one example per assistant turn) or full."})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL SFTConfig fields."})
