"""Call execution as synthesis sees it (steps, failures) and replay of finished trajectories.

    from synth.trajectory import env_from_metadata, is_failure, replay_record, run_call
    env = env_from_metadata(record["metadata"])               # envs.resolve.EnvSpec of the record's environment
    result = run_call(instances, call)                        # the dispatcher's result string
    mismatches = replay_record(record)                        # [] when every recorded tool result reproduces

Environments are resolved by `envs.resolve` (BFCL class names and `module:Class`), the resolver training and
evaluation use too. Execution always goes through `envs.dispatch.Dispatcher` (literal arguments, never `eval`), so
synthesized results are byte-identical to what evaluation and RL will see. A result counts as a *failure* (kept out
of ground truth) when it is the dispatcher's error marker (`envs.dispatch.is_execution_error`), a dict with an
`error` key, a "... not found"/"Unknown" answer, or a false login/authentication status: BFCL's classes report most
failures as ordinary return values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chat.calls import ToolCall
from envs.dispatch import Dispatcher, is_execution_error
from envs.resolve import EnvSpec, resolve_env

_FAILURE_WORDS = ("not found", "unknown", "invalid", "not authenticated", "not logged in", "failed")


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


def is_failure(result: str) -> bool:
    if is_execution_error(result):
        return True
    try:
        value = json.loads(result)
    except (json.JSONDecodeError, TypeError):
        low = result.lower()
        return low in ("none", "") or any(w in low for w in _FAILURE_WORDS)
    if isinstance(value, dict):
        if "error" in value:
            return True
        for key, leaf in value.items():
            if isinstance(leaf, bool) and not leaf and ("status" in key or "success" in key):
                return True
            if isinstance(leaf, str) and (leaf.lower() in ("unknown", "none") or "not found" in leaf.lower()):
                return True
    return False


def env_from_metadata(metadata: dict) -> EnvSpec:
    """The environment of a synth record: its `environment_refs` (what resolves custom classes), else its
    `involved_classes` (BFCL names)."""
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
