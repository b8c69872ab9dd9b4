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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            out[module_name(path)] = path
    return out


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules `path` imports (a `from pkg import mod` counts as pkg.mod when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
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
            if t.split(".")[0] in PACKAGES or t.split(".")[0] == "tests":
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    mods = project_modules()
    known = set(mods)
    return {name: imports_of(path, name, known) for name, path in mods.items()}


def test_every_import_follows_the_layer_table():
    bad = []
    for mod, deps in graph().items():
        pkg = mod.split(".")[0]
        for dep in deps:
            dpkg = dep.split(".")[0]
            if dpkg != pkg and dpkg not in ALLOWED[pkg]:
                bad.append(f"{mod} imports {dep} ({pkg} may import {sorted(ALLOWED[pkg]) or 'nothing'})")
    assert not bad, "\n".join(sorted(bad))


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
        pkg = mod.split(".")[0]
        edges.setdefault(pkg, set()).update(d.split(".")[0] for d in deps if d.split(".")[0] != pkg)
    assert _cycle(edges) is None, " -> ".join(_cycle(edges))


def test_no_module_cycle():
    g = graph()
    # Left out: a submodule importing its own package's __init__ (eval.backends.hf takes the shared request types
    # from eval.backends, whose factory picks hf lazily). That is a plugin shape inside one package, not two files
    # that each need the other.
    edges = {m: {d for d in deps if d in g and not m.startswith(d + ".")} for m, deps in g.items()}
    found = _cycle(edges)
    assert found is None, " -> ".join(found)


def test_the_checker_finds_a_violation(tmp_path):
    """The table test is not vacuous: a chat module importing envs is reported."""
    fake = REPO / "chat" / "_layer_probe.py"
    fake.write_text("from envs.dispatch import Dispatcher\n")
    try:
        with pytest.raises(AssertionError, match="chat._layer_probe imports envs.dispatch"):
            test_every_import_follows_the_layer_table()
    finally:
        fake.unlink()


LOAD_ONE_STAGE = """
import json, sys
sys.path.insert(0, {repo!r})
from core.recipe import load_recipe
import {entry}
load_recipe({recipe!r})
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""


@pytest.mark.parametrize(
    "entry,stage,others",
    [
        ("synth.cli", "synth", ["train", "eval", "funreason"]),
        ("eval.cli", "eval", ["synth", "train", "funreason"]),
        ("train.launch", "train", ["synth", "eval", "funreason"]),
    ],
)
def test_loading_a_recipe_for_one_stage_imports_no_other_stage(entry, stage, others):
    code = LOAD_ONE_STAGE.format(repo=str(REPO), entry=entry, recipe=str(REPO / "recipes" / "smoke.yaml"))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert stage in loaded
    assert not loaded & set(others), f"{entry} imported {sorted(loaded & set(others))}"
