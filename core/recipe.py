"""One recipe YAML per experiment: shared keys plus one section per stage (synth, sft, grpo, eval, report).

    from funreason.core.recipe import load_recipe
    recipe = load_recipe("recipes/smoke.yaml", overrides=["sft.max_steps=5", "eval.limit=4"])

Loading validates the whole file before any model is loaded (unknown keys, types, required keys; see
`core.schema`). Overrides are `dotted.key=value` strings; the value is read as YAML (`5`, `true`, `[a, b]`).
Relative paths in a recipe are relative to the working directory the command runs in (the repo root for
`make demo`). `save_resolved` writes the recipe as it was really used into the run dir.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from funreason.core.atomic import atomic_write_text
from funreason.core.errors import RecipeError
from funreason.core.schema import Where, build, to_dict
from funreason.core.sections.chat import ChatOptions
from funreason.core.sections.eval import EvalSection, ReportSection
from funreason.core.sections.execution import ExecutionLimits
from funreason.core.sections.synth import SynthConfig
from funreason.core.sections.tiny import TinySection
from funreason.core.sections.train import GRPOSection, SFTSection


@dataclass
class Recipe:
    model: str = field(metadata={"help": "Local path of the base model directory (nothing is ever downloaded)."})
    run_dir: str = field(metadata={"help": "Directory that receives every stage's outputs."})
    seed: int = field(default=0, metadata={"help": "Seed for synthesis, training and sampling."})
    chat: ChatOptions = field(
        default_factory=ChatOptions, metadata={"help": "How conversations become text: shared by SFT, RL and eval."}
    )
    execution: ExecutionLimits = field(
        default_factory=ExecutionLimits,
        metadata={"help": "Limits on every tool call (time, size), wherever calls run: eval, score, GRPO, synth."},
    )
    tiny: TinySection | None = field(
        default=None, metadata={"help": "Build a tiny local model at `model` if it is missing (tests, demo)."}
    )
    synth: SynthConfig | None = field(default=None, metadata={"help": "Data synthesis (funreason synth)."})
    sft: SFTSection | None = field(default=None, metadata={"help": "Supervised fine-tuning (train/sft.py)."})
    grpo: GRPOSection | None = field(default=None, metadata={"help": "RL with environment rewards (train/grpo.py)."})
    eval: EvalSection | None = field(default=None, metadata={"help": "BFCL multi-turn evaluation (funreason eval)."})
    report: ReportSection | None = field(default=None, metadata={"help": "Leaderboard report (funreason report)."})

    source: str = field(default="", metadata={"help": "The recipe file this was loaded from (set by the loader)."})

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir)


def apply_overrides(raw: dict, overrides: list[str], file: str) -> dict:
    """Return a copy of `raw` with `a.b.c=value` overrides applied (value parsed as YAML)."""
    out = copy.deepcopy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {item!r} is not of the form section.key=value")
        try:
            value = yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 (a SafeLoader subclass)
        except _Refused as e:
            raise RecipeError(f"override {item!r}: {e.problem}") from None
        except yaml.YAMLError:
            value = text
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise RecipeError(f"override {item!r}: '{part}' in {file} is not a section")
            node = child
        node[parts[-1]] = value
    return out


class _RecipeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses what a recipe never needs and a careless or hostile file can abuse: a key given
    twice in one mapping (PyYAML keeps the last silently) and aliases/anchors (`*a` copies a node: a few hundred
    bytes of nested aliases expand to gigabytes in memory and in the resolved recipe.yaml)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise _Refused("YAML aliases (*name) are not allowed in a recipe; write the value out", mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(f"YAML anchors (&{event.anchor}) are not allowed in a recipe; write the value out",
                           event.start_mark)  # fmt: skip
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused("YAML merge keys (<<) are not allowed in a recipe", key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML reports it
                continue
            if first is not None:
                raise _Refused(f"duplicate key {key!r} (first given at line {first})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _NoAliasDumper(yaml.SafeDumper):
    """The resolved recipe is read back by the loader above, which refuses aliases: never write any."""

    def ignore_aliases(self, data):
        return True


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def read_yaml(path: str | Path) -> dict:
    """Read a recipe file into a dict, with clear errors for a missing, empty or malformed file, a duplicated key
    and a YAML alias or anchor (one line naming the file and the line)."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError(f"recipe file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RecipeError(f"recipe {p} is not UTF-8 text (byte {e.start})") from None
    try:
        data = yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        kind = "refused" if isinstance(e, _Refused) else "YAML syntax error"
        raise RecipeError(f"{kind} in {p}{where}: {problem}") from None
    if data is None:
        raise RecipeError(f"recipe file is empty: {p}")
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {p} must be a mapping of keys, got {type(data).__name__}")
    return data


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    raw = apply_overrides(read_yaml(path), overrides or [], str(path))
    raw.pop("source", None)
    recipe = build(Recipe, raw, Where(str(path)))
    recipe.source = str(path)
    return recipe


def save_resolved(recipe: Recipe, directory: str | Path | None = None) -> Path:
    """Write the recipe as resolved (defaults filled, overrides applied) to `<run_dir>/recipe.yaml`."""
    out = Path(directory or recipe.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    dest = out / "recipe.yaml"
    return atomic_write_text(
        dest, f"# resolved from {recipe.source}\n" + yaml.dump(to_dict(recipe), Dumper=_NoAliasDumper, sort_keys=False)
    )


def add_recipe_arguments(parser) -> None:
    """`--config FILE` plus trailing `section.key=value` overrides, for every recipe-driven command."""
    parser.add_argument("--config", required=True, help="Recipe YAML (see recipes/).")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Overrides, e.g. sft.max_steps=10.")


def recipe_from_args(args) -> Recipe:
    return load_recipe(args.config, args.overrides)
