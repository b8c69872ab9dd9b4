"""Local model directories: the one check that a path holds a model, before anything heavy loads it.

    from core.models import require_model_dir, is_model_dir
    path = require_model_dir(recipe.model)       # UserError naming the path when it is not a usable model dir

Models are local paths; nothing is ever downloaded, so a missing or broken `config.json` is the user's to fix and
gets one line, not a traceback from deep inside transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import UserError


def is_model_dir(path: str | Path) -> bool:
    """Whether `path` holds a full model (config.json), e.g. a stage's `final/` that exists."""
    return (Path(path) / "config.json").is_file()


def require_model_dir(path: str | Path, what: str = "model") -> Path:
    path = Path(path)
    config = path / "config.json"
    if not config.is_file():
        raise UserError(f"{what} directory {path} has no config.json (models are local paths; nothing is downloaded)")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{config}: not valid JSON ({e}); the model directory is damaged") from None
    if not isinstance(data, dict):
        raise UserError(f"{config}: expected a JSON object, got {type(data).__name__}")
    return path
