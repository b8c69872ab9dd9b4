"""Broken model dirs (corrupt config, truncated weights, no tokenizer) are one line naming what is wrong.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/core/test_modelfiles.py
"""

from __future__ import annotations

import os
import shutil

import pytest
from funreason.core.errors import UserError


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("broken")
    out = {}
    for name in ("config", "weights", "tokenizer"):
        out[name] = shutil.copytree(tiny_model_dir, root / name)
    (out["config"] / "config.json").write_text('{"model_type": "qwen3", ')
    weights = out["weights"] / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    for f in out["tokenizer"].glob("tokenizer*"):
        f.unlink()
    return out


@pytest.mark.parametrize(
    "broken,message",
    [
        ("config", r".*/config/config.json: not valid JSON .*the model directory is damaged"),
        ("weights", r"cannot load the model in .*/weights \(model.safetensors: truncated \(\d+ of \d+ bytes\)\)"),
        ("tokenizer", r".*/tokenizer has no tokenizer \(none of tokenizer.json"),
    ],
)
def test_broken_model_dir_is_one_line_naming_it(broken_models, broken, message):
    """transformers raises on the first two and silently builds an EMPTY tokenizer for the third."""
    from funreason.train.common import load_model_and_tokenizer

    with pytest.raises(UserError, match=message):
        load_model_and_tokenizer(broken_models[broken])
