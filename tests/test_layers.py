"""The import table of docs/design.md, enforced: core -> chat, envs -> synth, train, eval -> funreason -> benchmarks.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_layers.py

Imports are read from the source (AST), deferred ones inside functions included: a deferred import is still a
dependency, and hiding one in a function is how cycles crept in before.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["core", "chat", "envs", "synth", "train", "eval", "funreason", "benchmarks"]

# What each package may import besides itself. envs may use chat's call type (a call is data); chat executes
# nothing, so it never imports envs.
ALLOWED = {
    "core": set(),
    "chat": {"core"},
    "envs": {"core", "chat"},
    "synth": {"core", "chat", "envs"},
    "train": {"core", "chat", "envs"},
    "eval": {"core", "chat", "envs"},
    "funreason": {"core", "chat", "envs", "synth", "train", "eval"},
    "benchmarks": {"core", "chat", "envs", "synth", "train", "eval", "funreason", "tests"},
}


STAGES = {"core", "chat", "envs", "synth", "train", "eval"}


def module_name(path: Path) -> str:
    """The name a source file imports as: the stage folders install under funreason (pyproject's package-dir)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if parts[0] in STAGES:
        parts = ["funreason", *parts]
    return ".".join(parts)


def layer(module: str) -> str:
    """The row of the import table a module belongs to: funreason.synth.x -> synth, funreason.cli -> funreason."""
    parts = module.split(".")
    if parts[0] == "funreason" and len(parts) > 1 and parts[1] in STAGES:
        return parts[1]
    return parts[0]


def project_modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            out[module_name(path)] = path
    return out


def imports_of(source: str, name: str, known: set[str], is_pkg: bool = False) -> set[str]:
    """Project modules `source` imports (a `from pkg import mod` counts as pkg.mod when that is a module)."""
    tree = ast.parse(source, name)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            if layer(t) in PACKAGES or layer(t) == "tests":
                out.add(t)
    return out


def graph(extra: dict[str, str] | None = None) -> dict[str, set[str]]:
    """Module -> project modules it imports; `extra` adds modules given as source text (the probe below)."""
    mods = project_modules()
    known = set(mods) | set(extra or {})
    out = {
        name: imports_of(path.read_text(encoding="utf-8"), name, known, path.name == "__init__.py")
        for name, path in mods.items()
    }
    out.update({name: imports_of(source, name, known) for name, source in (extra or {}).items()})
    return out


def layer_violations(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in g.items():
        pkg = layer(mod)
        for dep in deps:
            dpkg = layer(dep)
            if dpkg != pkg and dpkg not in ALLOWED[pkg]:
                bad.append(f"{mod} imports {dep} ({pkg} may import {sorted(ALLOWED[pkg]) or 'nothing'})")
    return sorted(bad)


def test_every_import_follows_the_layer_table():
    bad = layer_violations(graph())
    assert not bad, "\n".join(bad)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_package_cycle():
    edges: dict[str, set[str]] = {}
    for mod, deps in graph().items():
        pkg = layer(mod)
        edges.setdefault(pkg, set()).update(layer(d) for d in deps if layer(d) != pkg)
    assert _cycle(edges) is None, " -> ".join(_cycle(edges))


def test_no_module_cycle():
    g = graph()
    # Left out: a submodule importing its own package's __init__ (eval.backends.hf takes the shared request types
    # from eval.backends, whose factory picks hf lazily). That is a plugin shape inside one package, not two files
    # that each need the other.
    edges = {m: {d for d in deps if d in g and not m.startswith(d + ".")} for m, deps in g.items()}
    found = _cycle(edges)
    assert found is None, " -> ".join(found)


def test_the_checker_finds_a_violation():
    """The table test is not vacuous: a chat module importing envs is reported (given as source, not written
    into the tree)."""
    probe = {"funreason.chat._layer_probe": "from funreason.envs.dispatch import Dispatcher\n"}
    assert layer_violations(graph(probe)) == [
        "funreason.chat._layer_probe imports funreason.envs.dispatch (chat may import ['core'])"
    ]


# `funreason` alone (the namespace's __init__: a version string) is loaded by every stage and is no other stage.
LOAD_ONE_STAGE = """
import json, sys
sys.path.insert(0, {repo!r})
from funreason.core.recipe import load_recipe
import {entry}
load_recipe({recipe!r})
stages = {{"core", "chat", "envs", "synth", "train", "eval"}}
print(json.dumps(sorted({{p[1] if p[0] == "funreason" and len(p) > 1 and p[1] in stages else p[0]
                         for p in (m.split(".") for m in sys.modules if m != "funreason")}})))
"""


@pytest.mark.parametrize(
    "entry,stage,others",
    [
        ("funreason.synth.cli", "synth", ["train", "eval", "funreason"]),
        ("funreason.eval.cli", "eval", ["synth", "train", "funreason"]),
        ("funreason.train.launch", "train", ["synth", "eval", "funreason"]),
    ],
)
def test_loading_a_recipe_for_one_stage_imports_no_other_stage(entry, stage, others):
    code = LOAD_ONE_STAGE.format(repo=str(REPO), entry=entry, recipe=str(REPO / "recipes" / "smoke.yaml"))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert stage in loaded
    assert not loaded & set(others), f"{entry} imported {sorted(loaded & set(others))}"
