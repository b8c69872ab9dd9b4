"""The `synth.teacher` recipe section: which LLM plays the four FunReason-MT agents, and how it is reached."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class TeacherConfig:
    kind: Literal["template", "openai", "vllm", "hf"] = field(
        default="template",
        metadata={
            "help": "template: deterministic offline baseline; openai: any OpenAI-compatible server; "
            "vllm: in-process engine; hf: transformers generation."
        },
    )
    model: str | None = field(default=None, metadata={"help": "Model name (openai) or local path (vllm, hf)."})
    base_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."}
    )
