"""The `synth` recipe section. Owned by synth/; extended as the pipeline grows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SynthConfig:
    environments: list[str] = field(
        default_factory=lambda: ["GorillaFileSystem"],
        metadata={"help": "Environment names (BFCL classes, or module:Class of any Environment)."},
    )
    num_trajectories: int = field(default=16, metadata={"help": "How many multi-turn trajectories to synthesize."})
