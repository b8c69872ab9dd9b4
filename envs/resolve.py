"""Environment resolution, for every stage: BFCL class names and `module:Class` references → classes, instances,
docs and seeded configs.

    from funreason.envs.resolve import resolve_env, func_docs
    env = resolve_env(["TravelAPI", "tests.toy_env:ToyLibrary"])   # an EnvSpec; UnknownEnvironment if a name is bad
    env.classes                                   # ["TravelAPI", "ToyLibrary"]: instance (and initial_config) keys
    env.refs                                      # ["TravelAPI", "tests.toy_env:ToyLibrary"]: what resolves them again
    config = env.generate_config(random.Random(0))    # {class name: initial config} from envs.states / the class
    instances = env.make_instances(config, long_context=False)
    docs = env.docs()                             # BFCL-dialect docs of every tool, class by class
    # the same from a task's fields (synth metadata `environment_refs`, a BFCL entry's `involved_classes`):
    instances = resolve_env(entry["involved_classes"]).make_instances(entry["initial_config"], long_context=False)
    docs = func_docs(entry["involved_classes"])

A reference is one of BFCL's multi-turn class names (`envs.bfcl.BFCL_CLASSES`, built from the installed wheel), one of
its agentic ones (`envs.bfcl.AGENTIC_CLASSES`: memory backends, web search over a frozen corpus), or
`module:Class`, any importable class that follows the `envs.base.Environment` protocol. Instances and configs are
keyed by the class's own name (`ToyLibrary`), as BFCL keys them; a config keyed by the full reference is read too.
Synthesis, RL tasks and evaluation all resolve through here, so each stage runs on a user's own environment.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.envs.base import Frozen, create, tool_docs
from funreason.envs.states import CLASS_GENERATORS

__all__ = ["EnvSpec", "UnknownEnvironment", "func_docs", "resolve_env", "source_files"]


class UnknownEnvironment(UserError, ValueError):
    """A reference names no BFCL class and no importable `module:Class`; the message says which and why."""


@dataclass
class EnvSpec:
    """The classes of one environment (a trajectory's, a task's) and how to build, document and seed them."""

    classes: list[str]  # class names, in the order given: the keys of instances and initial configs
    custom: dict[str, type] = field(default_factory=dict)  # class name -> class, for `module:Class` references
    refs: list[str] = field(default_factory=list)  # the references as given, one per class

    @property
    def name(self) -> str:
        return "+".join(self.classes)

    def make_instances(self, config: dict | None, long_context: bool = False) -> dict[str, Any]:
        """Fresh instances `{class name: instance}` loaded from deep copies of their configs (never mutated):
        `envs.bfcl.new_backends` for BFCL classes, `envs.base.create` for the others. The one way every stage
        builds environment instances."""
        config = config or {}
        out: dict[str, Any] = {}
        builtin = [c for c in self.classes if c not in self.custom]
        if builtin:
            out.update(bfcl.new_backends(config, builtin, long_context=long_context))
        for ref, name in zip(self.refs, self.classes):
            if name in self.custom:
                own = config.get(name, config.get(ref, {}))
                out[name] = create(self.custom[name], own, long_context=long_context)
        return {c: out[c] for c in self.classes}

    def docs(self) -> list[dict]:
        """BFCL-dialect docs of every tool, class by class (BFCL's own doc files for BFCL classes); new copies."""
        out = []
        for name in self.classes:
            if name in self.custom:
                out.extend(tool_docs(self.custom[name]))
            else:
                out.extend(_bfcl_docs(name).thaw())
        return out

    def generate_config(self, rng: random.Random) -> dict:
        """A seeded initial config per class: `envs.states` for BFCL classes, a custom class's own
        `generate_config(rng)` (an empty config when it has none)."""
        config = {}
        for name in self.classes:
            if name in self.custom:
                generator = getattr(self.custom[name], "generate_config", None)
                config[name] = generator(rng) if generator else {}
            elif name in CLASS_GENERATORS:
                config[name] = CLASS_GENERATORS[name](rng)
            else:
                config[name] = {}
        return config

    def source_files(self) -> list[Path]:
        """The source files of the custom classes' modules (for provenance hashes; BFCL's come with its wheel)."""
        files = []
        for cls in self.custom.values():
            try:
                path = inspect.getsourcefile(cls)
            except TypeError:  # a class built at run time has no file
                path = None
            if path and Path(path) not in files:
                files.append(Path(path))
        return files

    def single(self, name: str) -> EnvSpec:
        """The one-class spec of class `name` (one of `classes`)."""
        ref = self.refs[self.classes.index(name)] if self.refs else name
        return EnvSpec([name], {name: self.custom[name]} if name in self.custom else {}, [ref])


@functools.cache
def _bfcl_docs(class_name: str) -> Frozen:
    """A BFCL class's doc file, read once per process (every trajectory needs it; each gets its own copy)."""
    return Frozen(bfcl.func_docs([class_name]))


def _import_class(ref: str) -> type:
    module_name, _, attr = ref.partition(":")
    try:
        cls = getattr(_import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise UnknownEnvironment(f"cannot import environment {ref!r}: {e}") from None
    if not isinstance(cls, type):
        raise UnknownEnvironment(f"environment {ref!r} is not a class (got {type(cls).__name__})")
    try:
        _check_environment(cls)
    except Exception as e:  # whatever building it or documenting its tools raised
        raise UnknownEnvironment(f"{ref!r} is not an environment: {_first_line(e)}") from None
    return cls


def _import_module(name: str):
    """`importlib.import_module`, falling back to the working directory as `python -m` would search it: training
    scripts run by path under `accelerate launch` start sys.path at the script's folder, not where the user is.
    sys.path is only touched for that retry, so a process that finds its modules never sees it changed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        if os.getcwd() in sys.path or "" in sys.path:
            raise
    sys.path.append(os.getcwd())
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(os.getcwd())


class _NotEnvironment(ValueError):
    pass


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    if isinstance(e, _NotEnvironment):
        return text[0]
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


@functools.cache
def _check_environment(cls: type) -> None:
    """Raise unless `cls` follows the `envs.base.Environment` protocol closely enough to be used: an empty
    instance builds (`envs.base.create`), it has at least one tool, and its tool docs are JSON (a default that is
    not a literal, as `json:JSONDecoder.decode`'s `_w=WHITESPACE.match`, cannot be shown to a model). Once per class per process (resolution runs per trajectory)."""
    create(cls)
    docs = tool_docs(cls)
    if not docs:
        raise _NotEnvironment("it has no public methods (tools)")
    try:
        json.dumps(docs)
    except (TypeError, ValueError) as e:
        raise _NotEnvironment(f"its tool docs are not JSON ({e})") from None


def resolve_env(refs: list[str]) -> EnvSpec:
    """BFCL class names and `module:Class` references → an EnvSpec; `UnknownEnvironment` (a UserError) for a name
    that is neither."""
    classes: list[str] = []
    custom: dict[str, type] = {}
    for ref in refs:
        if not isinstance(ref, str):
            raise UnknownEnvironment(f"an environment reference must be a string, got {ref!r}")
        if ":" in ref:
            cls = _import_class(ref)
            classes.append(cls.__name__)
            custom[cls.__name__] = cls
        elif ref in bfcl.BFCL_CLASSES or ref in bfcl.AGENTIC_CLASSES:
            classes.append(ref)
        else:
            raise UnknownEnvironment(
                f"unknown environment {ref!r}; use one of {list(bfcl.BFCL_CLASSES)} or module:Class "
                "(an importable class, e.g. tests.toy_env:ToyLibrary)"
            )
    return EnvSpec(classes, custom, list(refs))


def func_docs(involved_classes: list[str]) -> list[dict]:
    """BFCL-dialect docs of every tool of the classes (BFCL names or `module:Class`), in order, as BFCL builds
    `entry["function"]` before held-out docs are removed; no language hint (see `chat.tools`)."""
    return resolve_env(list(involved_classes)).docs()


def source_files(involved_classes: list[str]) -> list[Path]:
    """The source files of the `module:Class` environments among the classes (empty for BFCL-only lists)."""
    return resolve_env(list(involved_classes)).source_files()
