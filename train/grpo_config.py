"""The `grpo` recipe section. Any TRL `GRPOConfig` field may also be set in it (validated against TRL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class GRPOSection:
    passthrough = "trl:GRPOConfig"

    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "TRL GRPOConfig fields."})
