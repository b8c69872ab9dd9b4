"""An eval label's rows are never mixed with rows made another way, nor overwritten silently.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_run_identity.py
"""

from __future__ import annotations

import json

import pytest

from tests.cli import funreason


def _eval_recipe(tmp_path, model, **eval_keys):
    import yaml
    from funreason.core.recipe import load_recipe

    section = {"categories": ["base"], "ids": ["multi_turn_base_0"], "max_new_tokens": 3, "batch_size": 1,
               "max_context": 4096, **eval_keys}  # fmt: skip
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"model": str(model), "run_dir": str(tmp_path / "run"), "eval": section}))
    return path, load_recipe(path)


def test_eval_label_refuses_another_identity_and_silent_reruns(tiny_model_dir, tmp_path):
    import shutil

    from funreason.core.errors import UserError
    from funreason.eval.pipeline import evaluate_model

    path, recipe = _eval_recipe(tmp_path, tiny_model_dir)
    meta = evaluate_model(recipe, str(tiny_model_dir), "m", progress=False)
    out = tmp_path / "run" / "eval" / "m"
    result = next((out / "result").rglob("*_result.json"))
    first = result.read_text()
    assert meta["identity"]["sampling"]["temperature"] == 0.0 and (out / "identity.json").is_file()
    # a rerun without --resume would truncate the finished row: refused, nothing touched
    with pytest.raises(UserError, match=r"'m' already holds 1 finished result rows .*--resume .*--fresh"):
        evaluate_model(recipe, str(tiny_model_dir), "m", progress=False)
    # --resume with other sampling, another model or other categories: refused naming what differs
    _, hot = _eval_recipe(tmp_path, tiny_model_dir, temperature=0.7)
    with pytest.raises(UserError, match=r"another identity \(sampling\.temperature 0\.0 -> 0\.7\); pass --fresh"):
        evaluate_model(hot, str(tiny_model_dir), "m", resume=True, progress=False)
    other = shutil.copytree(tiny_model_dir, tmp_path / "other")
    weights = next(other.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-8:] = bytes(8)  # other weights, same sizes
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"another identity \(model .*weights "):
        evaluate_model(recipe, str(other), "m", resume=True, progress=False)
    _, fewer = _eval_recipe(tmp_path, tiny_model_dir, max_new_tokens=5)
    with pytest.raises(UserError, match=r"max_new_tokens 3 -> 5"):
        evaluate_model(fewer, str(tiny_model_dir), "m", resume=True, progress=False)
    assert result.read_text() == first
    # the same identity resumes; --fresh moves the old results aside and starts over
    evaluate_model(recipe, str(tiny_model_dir), "m", resume=True, progress=False)
    assert result.read_text() == first
    meta = evaluate_model(hot, str(tiny_model_dir), "m", fresh=True, progress=False)
    (old,) = out.glob("superseded-*")
    assert (old / result.relative_to(out)).read_text() == first
    assert json.loads((old / "identity.json").read_text())["sampling"]["temperature"] == 0.0
    assert json.loads((out / "identity.json").read_text())["sampling"]["temperature"] == 0.7


def test_funreason_eval_rerun_is_one_line_exit_2(tiny_model_dir, tmp_path):
    path, recipe = _eval_recipe(tmp_path, tiny_model_dir)
    first = funreason("eval", "--config", str(path), "--model", str(tiny_model_dir), "--label", "m", timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    again = funreason("eval", "--config", str(path), "--model", str(tiny_model_dir), "--label", "m",
                      "eval.temperature=0.5", "--resume", timeout=300)  # fmt: skip
    assert again.returncode == 2, again.stderr[-2000:]
    lines = [x for x in again.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "sampling.temperature 0.0 -> 0.5" in lines[0] and "--fresh" in lines[0], lines
