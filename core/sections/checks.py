"""Value checks the section dataclasses run in `__post_init__`: a bad value is one RecipeError naming its key,
raised while the recipe is loaded, before any stage writes a file or loads a model.

    at_least("synth.k_max", self.k_max, 1)
    ratio("synth.paraphrase_ratio", self.paraphrase_ratio)
    int_range("synth.rounds", self.rounds, low=1)
"""

from __future__ import annotations

from funreason.core.errors import RecipeError


def at_least(key: str, value, low, strict: bool = False) -> None:
    if value is None:
        return
    if value < low or (strict and value == low):
        raise RecipeError(f"{key} must be {'>' if strict else '>='} {low}, got {value!r}")


def ratio(key: str, value) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise RecipeError(f"{key} is a probability and must be in [0, 1], got {value!r}")


def int_range(key: str, value, low: int) -> None:
    """A `[min, max]` pair of integers with low <= min <= max."""
    if len(value) != 2:
        raise RecipeError(f"{key} must be [min, max] (two integers), got {value!r}")
    lo, hi = value
    if lo < low:
        raise RecipeError(f"{key}: min must be >= {low}, got {value!r}")
    if lo > hi:
        raise RecipeError(f"{key}: min {lo} is greater than max {hi}")


# TRL / transformers fields every training recipe may set, with the smallest valid value, checked while the recipe
# loads (TRL itself would only say so after the model loaded, or not at all: a negative batch size fails deep in
# the data loader). Keys ending in `batch_size` are positive integers too. (key, minimum, strictly greater?)
TRL_BOUNDS = {
    "max_length": (1, False),
    "max_completion_length": (1, False),
    "gradient_accumulation_steps": (1, False),
    "num_generations": (1, False),
    "num_iterations": (1, False),
    "max_steps": (-1, False),
    "num_train_epochs": (0, True),
    "learning_rate": (0, False),
    "weight_decay": (0, False),
    "warmup_steps": (0, False),
    "logging_steps": (0, True),
    "save_steps": (0, True),
    "eval_steps": (0, True),
    "save_total_limit": (0, False),
    "max_grad_norm": (0, False),
    "temperature": (0, False),
    "beta": (0, False),
    "seed": (0, False),
    "dataloader_num_workers": (0, False),
}
TRL_RATIOS = ("top_p", "min_p")


def trl_values(section: str, extra: dict) -> None:
    """Bounds of the common numeric TRL fields in a section's pass-through values."""
    for key, value in extra.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = f"{section}.{key}"
        if key.endswith("batch_size"):
            at_least(name, value, 1)
        elif key in TRL_BOUNDS:
            low, strict = TRL_BOUNDS[key]
            at_least(name, value, low, strict)
        elif key in TRL_RATIOS:
            ratio(name, value)
