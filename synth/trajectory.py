"""Call execution as synthesis sees it (steps, failures) and replay of finished trajectories.

    from funreason.synth.trajectory import env_from_metadata, is_failure, replay_record, run_call
    env = env_from_metadata(record["metadata"])               # envs.resolve.EnvSpec of the record's environment
    result = run_call(instances, call)                        # the dispatcher's result string
    mismatches = replay_record(record)                        # [] when every recorded tool result reproduces

Environments are resolved by `envs.resolve` (BFCL class names and `module:Class`), the resolver training and
evaluation use too. Execution always goes through `envs.dispatch.Dispatcher` (literal arguments, never `eval`), so
synthesized results are byte-identical to what evaluation and RL will see. A result counts as a *failure* (kept out
of ground truth) by the environment's own conventions only (`is_failure`): the dispatcher's error marker, a dict
with an `error` key, a false status flag or a sentinel answer; BFCL's classes report most failures as ordinary
return values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from funreason.chat.calls import ToolCall
from funreason.envs.dispatch import Dispatcher, is_execution_error
from funreason.envs.resolve import EnvSpec, resolve_env

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


def env_from_metadata(metadata: dict) -> EnvSpec:
    """The environment of a synth record: its `environment_refs` (what resolves custom classes), else its
    `involved_classes` (BFCL names)."""
    refs = metadata.get("environment_refs") or metadata["involved_classes"]
    return resolve_env(list(refs))


def replay_record(record: dict) -> list[str]:
    """Execute every assistant call of a record, in order, on fresh instances built from its metadata and compare
    with the recorded tool messages. A tool message listed in `metadata.injected_errors` (an injected transient
    error: the call never reached the environment) is expected as recorded and its call is not executed. Returns
    human-readable mismatches (empty = the trajectory replays)."""
    meta = record["metadata"]
    env = env_from_metadata(meta)
    instances = env.make_instances(meta["initial_config"], long_context=meta.get("long_context", False))
    injected = set(meta.get("injected_errors") or [])
    messages = record["messages"]
    problems = []
    pending: list[str] = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            for j, tc in enumerate(message.get("tool_calls") or []):
                if i + 1 + j in injected:
                    pending.append(messages[i + 1 + j]["content"])
                else:
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
