"""Recipes: every shipped recipe validates; each kind of bad recipe gives one clear error and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from funreason.core.errors import RecipeError
from funreason.core.recipe import load_recipe, save_resolved

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
GOOD = """\
model: m
run_dir: r
chat:
  tool_format: hermes
eval:
  limit: 3
"""


def test_recipes_exist():
    names = {p.name for p in RECIPES}
    assert {"smoke.yaml", "qwen3_4b_funreason_mt.yaml"} <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_shipped_recipe_validates_and_shows_its_command(path):
    recipe = load_recipe(path)
    assert recipe.model and recipe.run_dir
    first = path.read_text().splitlines()[0]
    assert first.startswith("#"), "each recipe starts with a comment showing how to run it"
    assert "funreason" in path.read_text().split("\nmodel:")[0] or "accelerate launch" in path.read_text()


def _write(tmp_path, text, name="r.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_overrides_and_resolved_copy(tmp_path):
    p = _write(tmp_path, GOOD)
    recipe = load_recipe(p, ["eval.limit=7", "chat.think_prefill=true", f"run_dir={tmp_path / 'run'}"])
    assert recipe.eval.limit == 7 and recipe.chat.think_prefill is True and recipe.chat.tool_format == "hermes"
    out = save_resolved(recipe)
    again = load_recipe(out)
    assert again.eval.limit == 7 and again.chat.think_prefill is True


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD + "colour: blue\n", "unknown key 'colour' in section '<top level>'"),
        (GOOD.replace("limit: 3", "limt: 3"), "unknown key 'limt' in section 'eval'"),
        (GOOD.replace("limit: 3", "hermes_holdout: message"), "it moved to 'chat.hermes_holdout'"),
        (GOOD.replace("limit: 3", "limit: three"), "'eval.limit'"),
        (GOOD.replace("tool_format: hermes", "tool_format: hermez"), "did you mean 'hermes'"),
        ("run_dir: r\n", "missing required key 'model'"),
        (GOOD + "sft:\n  learning_rat: 0.1\n", "did you mean 'learning_rate'"),
        (GOOD + "sft:\n  num_train_epochs: many\n", "'sft.num_train_epochs'"),
    ],
    ids=["unknown", "typo", "moved", "wrong-type", "bad-literal", "missing-required", "trl-typo", "trl-type"],
)
def test_bad_recipe_errors_name_the_problem(tmp_path, text, expected):
    p = _write(tmp_path, text)
    with pytest.raises(RecipeError) as e:
        load_recipe(p)
    assert expected in str(e.value)
    assert str(p) in str(e.value)


def test_typo_suggests_closest_key(tmp_path):
    with pytest.raises(RecipeError, match="did you mean 'limit'"):
        load_recipe(_write(tmp_path, GOOD.replace("limit: 3", "limt: 3")))


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "recipe file not found"),
        ("", "recipe file is empty"),
        ("model: [unclosed\n", "YAML syntax error"),
        (GOOD + "colour: blue\n", "unknown key 'colour'"),
        (GOOD.replace("limit: 3", "limit: 1.5"), "expected an integer"),
    ],
    ids=["missing-file", "empty-file", "yaml-syntax", "unknown-key", "wrong-type"],
)
def test_cli_reports_bad_recipe_without_traceback(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    res = subprocess.run(
        [sys.executable, "-m", "funreason", "run", "--config", str(path), "--dry-run"], capture_output=True, text=True
    )
    assert res.returncode != 0
    assert expected in res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_override_error(tmp_path):
    p = _write(tmp_path, GOOD)
    res = subprocess.run(
        [sys.executable, "-m", "funreason", "run", "--config", str(p), "--dry-run", "eval.limt=3"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "did you mean 'limit'" in res.stderr


def test_scientific_notation_without_dot_is_a_number(tmp_path):
    # YAML 1.1 reads 3e-3 as a string; a float field must still take it.
    p = _write(tmp_path, GOOD + "sft:\n  learning_rate: 3e-3\n")
    recipe = load_recipe(p, ["sft.weight_decay=1e-2"])
    assert recipe.sft.extra["learning_rate"] == 0.003 and recipe.sft.extra["weight_decay"] == 0.01
    with pytest.raises(RecipeError, match="expected a number"):
        load_recipe(p, ["sft.weight_decay=1e-2x"])


def test_reference_recipe_launches_both_training_stages_with_its_accelerate_config(monkeypatch, tmp_path):
    """`funreason run` launches GRPO with the recipe's `grpo.accelerate_config` (zero3 for the 8-GPU recipe)."""
    from funreason.train import launch

    recipe = load_recipe(REPO / "recipes" / "qwen3_4b_funreason_mt.yaml", [f"run_dir={tmp_path}"])
    seen = {}
    monkeypatch.setattr(launch, "run_training", lambda script, path, cfg, **kw: seen.setdefault(script, cfg))
    launch.run_sft_stage(recipe, tmp_path / "recipe.yaml")
    launch.run_grpo_stage(recipe, tmp_path / "recipe.yaml")
    assert seen == {"sft.py": "zero3", "grpo.py": "zero3"}
    cmd = launch.launch_command("grpo.py", tmp_path / "recipe.yaml", seen["grpo.py"], gpu=True)
    assert cmd[cmd.index("--config_file") + 1].endswith("accelerate_configs/zero3.yaml")
    assert cmd[-3:] == [str(REPO / "train" / "grpo.py"), "--config", str(tmp_path / "recipe.yaml")]


def test_training_output_dirs_move_every_consumer(tmp_path):
    """sft.output_dir / grpo.output_dir: GRPO starts from the moved SFT model, eval finds both, DONE.json follows."""
    from funreason.core.layout import RunLayout
    from funreason.eval.pipeline import models_to_evaluate
    from funreason.train.grpo import policy_path

    overrides = [f"run_dir={tmp_path}/run", f"sft.output_dir={tmp_path}/elsewhere/sft", f"grpo.output_dir={tmp_path}/g"]
    recipe = load_recipe(REPO / "recipes" / "smoke.yaml", overrides)
    layout = RunLayout.of(recipe)
    for final in (layout.sft_final, layout.grpo_final):
        final.mkdir(parents=True)
        (final / "config.json").write_text("{}")
    assert layout.sft_final == tmp_path / "elsewhere" / "sft" / "final"
    assert policy_path(recipe) == layout.sft_final
    assert dict(models_to_evaluate(recipe)) == {
        "base": recipe.model,
        "sft": str(tmp_path / "elsewhere" / "sft" / "final"),
        "grpo": str(tmp_path / "g" / "final"),
    }
    assert layout.done_file("sft") == tmp_path / "elsewhere" / "sft" / "DONE.json"
