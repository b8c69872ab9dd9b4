"""Bad recipes are refused in one line naming file, line or key, before anything is written.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/core/test_recipe_refusals.py
"""

from __future__ import annotations

import time

import pytest
from funreason.core.errors import RecipeError
from funreason.core.recipe import load_recipe, read_yaml, save_resolved

from tests.cli import REPO, base_recipe, write


def test_duplicate_key_is_refused_naming_file_and_line(tmp_path):
    f = write(tmp_path / "r.yaml", "model: m\nrun_dir: r\nsft:\n  max_steps: 3\nsft:\n  max_steps: 4\n")
    with pytest.raises(RecipeError, match=r"r\.yaml at line 5.*duplicate key 'sft' \(first given at line 3\)"):
        read_yaml(f)
    f = write(tmp_path / "n.yaml", "model: m\nrun_dir: r\nsft: {max_steps: 3, learning_rate: 1.0, max_steps: 4}\n")
    with pytest.raises(RecipeError, match=r"line 3.*duplicate key 'max_steps'"):
        read_yaml(f)


def test_alias_bomb_is_refused_at_once(tmp_path):
    """The 600-byte bomb of the issue expanded to 117 MB; refused at its first anchor, in milliseconds."""
    lines = ["model: m", "run_dir: r", 'a0: &a0 ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    f = write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    t = time.perf_counter()
    with pytest.raises(RecipeError, match=r"bomb\.yaml at line 3.*anchors \(&a0\) are not allowed"):
        load_recipe(f)
    assert time.perf_counter() - t < 1.0
    f = write(tmp_path / "alias.yaml", "model: m\nrun_dir: r\nx: 1\nsft: *x\n")
    with pytest.raises(RecipeError, match=r"line 4.*aliases"):
        read_yaml(f)
    ok = write(tmp_path / "ok.yaml", {"model": "m", "run_dir": str(tmp_path / "run")})
    with pytest.raises(RecipeError, match="override.*anchors"):
        load_recipe(ok, ["sft.report_to=[&a x, *a]"])


def test_resolved_recipe_never_holds_aliases(tmp_path):
    recipe = load_recipe(write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={}, sft={}, eval={})))
    path = save_resolved(recipe)
    assert "&id" not in path.read_text() and "*id" not in path.read_text()
    read_yaml(path)  # the loader that refuses aliases reads it back


BAD_VALUES = [
    ("synth", {"rounds": [3, 2]}, "synth.rounds: min 3 is greater than max 2"),
    ("synth", {"trace_length": [0, 4]}, r"synth.trace_length: min must be >= 1"),
    ("synth", {"classes_per_trajectory": [1, 2, 3]}, r"synth.classes_per_trajectory must be \[min, max\]"),
    ("synth", {"num_trajectories": -5}, "synth.num_trajectories must be >= 1, got -5"),
    ("synth", {"k_max": 0}, "synth.k_max must be >= 1, got 0"),
    ("synth", {"miss_func_ratio": 1.5}, r"synth.miss_func_ratio is a probability and must be in \[0, 1\]"),
    ("synth", {"teacher": {"top_p": 2.0}}, r"synth.teacher.top_p .* \[0, 1\]"),
    ("sft", {"per_device_train_batch_size": -3}, "sft.per_device_train_batch_size must be >= 1, got -3"),
    ("sft", {"max_length": 0}, "sft.max_length must be >= 1, got 0"),
    ("sft", {"learning_rate": -1e-5}, "sft.learning_rate must be >= 0"),
    ("sft", {"lora": {"r": 0}}, "lora.r must be >= 1"),
    ("grpo", {"num_generations": 0}, "grpo.num_generations must be >= 1"),
    ("grpo", {"max_tool_steps": 0}, "grpo.max_tool_steps must be >= 1"),
    ("eval", {"batch_size": 0}, "eval.batch_size must be >= 1"),
    ("eval", {"top_p": 1.2}, r"eval.top_p .* \[0, 1\]"),
]


@pytest.mark.parametrize("section,values,message", BAD_VALUES, ids=[f"{s}-{next(iter(v))}" for s, v, _ in BAD_VALUES])
def test_bad_values_are_refused_naming_the_key(tmp_path, section, values, message):
    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, **{section: values}))
    with pytest.raises(RecipeError, match=message):
        load_recipe(f)


def test_bad_value_stops_funreason_run_before_anything_is_written(tmp_path):
    """The issue: an invalid range passed validation, crashed after run.json was written, which blocked the fix."""
    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={"rounds": [4, 2]}))
    from funreason.cli import main

    assert main(["run", "--config", str(f)]) == 2
    assert not (tmp_path / "run").exists()


def test_valid_trl_values_and_shipped_recipes_still_load():
    for path in (REPO / "recipes").glob("*.yaml"):
        load_recipe(path)
