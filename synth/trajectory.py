"""Environments as synthesis sees them, call execution, and replay of finished trajectories.

    from synth.trajectory import resolve_env, replay_record
    env = resolve_env(["TravelAPI", "TwitterAPI"])          # or ["tests.toy_env:ToyShop"]
    config = env.generate_config(random.Random(0))           # {class_name: initial config}
    instances = env.make_instances(config, long_context=False)
    mismatches = replay_record(record)                       # [] when every recorded tool result reproduces

Execution always goes through `envs.dispatch.Dispatcher` (literal arguments, never `eval`), so synthesized results
are byte-identical to what evaluation and RL will see. A result counts as a *failure* (kept out of ground truth)
by the environment's own conventions only (`is_failure`): the dispatcher's error marker, a dict with an `error` key,
a false status flag or a sentinel answer; BFCL's classes report most failures as ordinary return values.
"""

from __future__ import annotations

import functools
import importlib
import json
import random
from dataclasses import dataclass
from typing import Any

from chat.calls import ToolCall
from envs.base import Frozen, create, tool_docs
from envs.dispatch import Dispatcher, is_execution_error

# Values BFCL's tools return *in place of* an answer: get_symbol_by_name's "Stock not found", get_nearest_airport's
# "Unknown", get_zipcode_based_on_city's "00000" for a city it does not know.
_SENTINELS = {"stock not found", "unknown", "00000"}


@dataclass(frozen=True)
class Step:
    """One executed call and its result string."""

    call: ToolCall
    result: str

    @property
    def name(self) -> str:
        return self.call.name


def run_call(instances: dict[str, Any], call: ToolCall) -> str:
    return Dispatcher(instances).execute(call)


def is_failure(result: str, tool: str | None = None) -> bool:
    """Whether a call failed, by the environment's own conventions: the dispatcher's error marker, a dict with an
    `error` key (BFCL's `{"error": ...}`), a false `*status`/`success` flag (a failed login, follow, booking), or a
    sentinel answer (`"Stock not found"`). Never by the value itself: `None` is what mkdir, touch and echo return on
    success, and `{"login_status": false}` is the answer of a login-status query (`tool` ending in `_status`)."""
    if is_execution_error(result):
        return True
    if result.startswith("[{'error': "):  # a list answer holding only an error (TicketAPI.get_user_tickets)
        return True
    try:
        value = json.loads(result)
    except (json.JSONDecodeError, TypeError):
        return False
    if not isinstance(value, dict):
        return False
    if "error" in value:
        return True
    is_query = bool(tool) and tool.endswith("_status")
    for key, leaf in value.items():
        if leaf is False and ("status" in key or "success" in key) and not is_query:
            return True
        if isinstance(leaf, str) and leaf.lower() in _SENTINELS:
            return True
    return False


@dataclass
class EnvSpec:
    """The classes of one trajectory's environment and how to build, document and seed them."""

    classes: list[str]
    custom: dict[str, type]  # class name -> class, for non-BFCL environments

    @property
    def name(self) -> str:
        return "+".join(self.classes)

    def make_instances(self, config: dict, long_context: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        bfcl = [c for c in self.classes if c not in self.custom]
        if bfcl:
            from envs.bfcl import make_instances

            out.update(make_instances(config, bfcl, long_context=long_context))
        for name, cls in self.custom.items():
            out[name] = create(cls, config.get(name, {}), long_context=long_context)
        return {c: out[c] for c in self.classes}

    def docs(self) -> list[dict]:
        """BFCL-dialect docs of every tool, class by class (BFCL's own doc files for BFCL classes)."""
        out = []
        for name in self.classes:
            if name in self.custom:
                out.extend(tool_docs(self.custom[name]))
            else:
                out.extend(_bfcl_docs(name).thaw())
        return out

    def generate_config(self, rng: random.Random) -> dict:
        from envs.states import CLASS_GENERATORS

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

    def single(self, name: str) -> EnvSpec:
        return EnvSpec([name], {name: self.custom[name]} if name in self.custom else {})


@functools.cache
def _bfcl_docs(class_name: str) -> Frozen:
    """A BFCL class's doc file, read once per process (every trajectory needs it; each gets its own copy)."""
    from envs.bfcl import func_docs

    return Frozen(func_docs([class_name]))


def resolve_env(names: list[str]) -> EnvSpec:
    """BFCL class names and `module:Class` references → an EnvSpec; a clear error for an unknown name."""
    from envs.bfcl import BFCL_CLASSES

    classes: list[str] = []
    custom: dict[str, type] = {}
    for name in names:
        if ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                cls = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as e:
                raise ValueError(f"synth.environments: cannot import {name!r}: {e}") from None
            classes.append(cls.__name__)
            custom[cls.__name__] = cls
        elif name in BFCL_CLASSES:
            classes.append(name)
        else:
            raise ValueError(
                f"synth.environments: unknown environment {name!r}; use one of {list(BFCL_CLASSES)} or module:Class"
            )
    return EnvSpec(classes, custom)


def env_from_metadata(metadata: dict) -> EnvSpec:
    refs = metadata.get("environment_refs") or metadata["involved_classes"]
    return resolve_env(list(refs))


def replay_record(record: dict) -> list[str]:
    """Execute every assistant call of a record, in order, on fresh instances built from its metadata and compare
    with the recorded tool messages. Returns human-readable mismatches (empty = the trajectory replays)."""
    meta = record["metadata"]
    env = env_from_metadata(meta)
    instances = env.make_instances(meta["initial_config"], long_context=meta.get("long_context", False))
    problems = []
    pending: list[str] = []
    for i, message in enumerate(record["messages"]):
        if message["role"] == "assistant":
            for tc in message.get("tool_calls") or []:
                pending.append(run_call(instances, ToolCall.from_message(tc)))
        elif message["role"] == "tool":
            if not pending:
                problems.append(f"message {i}: tool result without a pending call")
                continue
            got = pending.pop(0)
            if got != message["content"]:
                problems.append(f"message {i}: recorded {message['content'][:200]!r}, replay gave {got[:200]!r}")
    if pending:
        problems.append(f"{len(pending)} calls without a recorded result")
    return problems
