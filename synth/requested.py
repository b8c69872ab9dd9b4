"""Were the calls asked for? Every call of a synthesized record against its turn's request (invariant 6 of docs/design.md).

    from funreason.synth.requested import RequestedCounts
    counts = RequestedCounts()
    counts.add(record)            # replays the record in fresh backends
    counts.to_dict()              # the `requested` block of stats.json

A call is *asked for* when it is one the turn's request describes (`metadata.turns[i].asked`: the calls phase II
gave the querying agent to describe, each of which the request states or refers to; synth/teachers/requests.py
for the template teacher's wording), or the source of a value an asked-for call of the turn uses that the
request does not give (a lookup that finds the ID the asked-for call needs). Anything else is *not asked for*:
a call the reasoning agent added on its own (BFCL's checker lets extra read-only calls pass), or the whole turn
when its metadata has no `asked` list. Injected transient errors (the call did not run) are not counted.

*State-changing* is decided by execution, not by a list of tool names: the record is replayed call by call in
fresh backends built from its metadata, and a call changes state when any class's public state (BFCL's state
checker's view, `envs.verify.compare_states`) differs after it from before it.
"""

from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass, field

from funreason.chat.calls import ToolCall
from funreason.envs.base import copy_state
from funreason.envs.verify import compare_states
from funreason.synth.causality import forms, leaves
from funreason.synth.trajectory import env_from_metadata, run_call


def _turn_calls(record: dict) -> list[list[tuple[ToolCall, int]]]:
    """Per turn (one user message each), its calls with the index of the tool message that answers each."""
    turns: list[list[tuple[ToolCall, int]]] = []
    messages = record["messages"]
    for i, message in enumerate(messages):
        if message["role"] == "user":
            turns.append([])
        elif message["role"] == "assistant" and turns:
            for j, tc in enumerate(message.get("tool_calls") or []):
                turns[-1].append((ToolCall.from_message(tc), i + 1 + j))
    return turns


def _pickled(instances: dict) -> bytes | object:
    """The state before a call: its pickle (cheap to compare), or a deep copy of what pickle cannot take."""
    try:
        return pickle.dumps(instances, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy_state(instances)


def _changed(instances: dict, before: bytes | object) -> bool:
    """Whether a call changed any class's public state. An identical pickle (most calls: reads) is no change
    without comparing field by field; otherwise BFCL's comparison decides (a moved private cursor is no change)."""
    if isinstance(before, bytes):
        if _pickled(instances) == before:
            return False
        before = pickle.loads(before)
    return any(compare_states(instances[n], before[n]) for n in instances)


def _value_sources(calls: list[ToolCall], results: list[str], asked: list[bool], said: str) -> list[bool]:
    """Which calls are the source of a value a later asked-for call uses and `said` (the request) does not give."""
    sources = [False] * len(calls)
    for k, call in enumerate(calls):
        if not asked[k]:
            continue
        for value in leaves(call.arguments):
            written = forms(value)
            if not written or any(f in said for f in written):
                continue
            for j in range(k - 1, -1, -1):
                if any(f in results[j] for f in written):
                    sources[j] = True
                    break
    return sources


@dataclass
class RequestedCounts:
    """Asked-for and not-asked-for calls, state-changing and read-only, over the records added."""

    counts: Counter = field(default_factory=Counter)
    not_asked: Counter = field(default_factory=Counter)  # tool -> state-changing calls not asked for

    def add(self, record: dict) -> None:
        meta = record["metadata"]
        env = env_from_metadata(meta)
        instances = env.make_instances(meta["initial_config"], long_context=meta.get("long_context", False))
        injected = set(meta.get("injected_errors") or [])
        messages = record["messages"]
        users = [m.get("content") or "" for m in messages if m["role"] == "user"]
        unasked_changes = 0
        for t, (turn, calls) in enumerate(zip(meta["turns"], _turn_calls(record))):
            left = Counter(turn.get("asked") or [])
            refused = t > 0 and meta["turns"][t - 1].get("ground_truth") == []  # a follow-up: both messages ask
            said = (users[t - 1] + " " if refused else "") + users[t]
            ran, changed, asked = [], [], []
            for call, at in calls:
                if at in injected:  # the call never reached the environment
                    continue
                before = _pickled(instances)
                result = run_call(instances, call)
                changed.append(_changed(instances, before))
                text = call.to_python()
                asked.append(left[text] > 0)
                left[text] -= asked[-1]
                ran.append((call, result))
            sources = _value_sources([c for c, _ in ran], [r for _, r in ran], asked, said)
            for (call, _), is_asked, is_source, is_change in zip(ran, asked, sources, changed):
                kind = "state_changing" if is_change else "read_only"
                self.counts[kind] += 1
                if not (is_asked or is_source):
                    self.counts[f"{kind}_not_asked"] += 1
                    if is_change:
                        self.not_asked[call.name] += 1
                        unasked_changes += 1
        self.counts["trajectories"] += 1
        self.counts["trajectories_with_unasked_state_changes"] += unasked_changes > 0

    def to_dict(self) -> dict:
        c = self.counts

        def share(n: int, d: int) -> float:
            return round(n / d, 4) if d else 0.0

        return {
            "state_changing_calls": c["state_changing"],
            "state_changing_not_asked": c["state_changing_not_asked"],
            "state_changing_not_asked_share": share(c["state_changing_not_asked"], c["state_changing"]),
            "read_only_calls": c["read_only"],
            "read_only_not_asked": c["read_only_not_asked"],
            "read_only_not_asked_share": share(c["read_only_not_asked"], c["read_only"]),
            "trajectories_with_unasked_state_changes": c["trajectories_with_unasked_state_changes"],
            "state_changing_not_asked_by_tool": dict(self.not_asked.most_common()),
        }
