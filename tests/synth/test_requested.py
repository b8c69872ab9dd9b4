"""Every call is one the user asked for, and the offline path checks it as a real teacher's run would (issue #22).

The template reasoning agent decides from the request text (synth/teachers/requests.py), never from the phase-I
chain; a request that leaves a step out is rejected by phase III; a synthesized run's `requested` block (state
change decided by replay, synth/requested.py) says no call was made unasked, and reading each request back finds
every call it holds; closing replies say numbers as numbers.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from funreason.chat.calls import ToolCall
from funreason.core.sections.synth import SynthConfig
from funreason.envs.resolve import resolve_env
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.pipeline import run
from funreason.synth.requested import RequestedCounts
from funreason.synth.teachers.requests import clause_text, read_request, value_from_results
from funreason.synth.teachers.template import TemplateTeacher, _describe

from tests.synth_configs import quiet_config

ALL8 = ["GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI", "TradingBot", "TravelAPI",
        "VehicleControlAPI"]  # fmt: skip


class DropsLastClause(TemplateTeacher):
    """A querying agent whose request leaves the chain's last step out; records what the reasoning agent saw."""

    name = "drops-last-clause"

    def __init__(self):
        self.reasoning_payloads: list[dict] = []

    async def generate(self, role, messages, payload):
        if role == "reasoning":
            self.reasoning_payloads.append(payload)
        if role == "querying" and payload["mode"] != "supply":
            payload = {**payload, "steps": payload["steps"][:-1]}
        return await super().generate(role, messages, payload)


def test_a_request_without_a_step_is_rejected_by_phase3():
    cfg = quiet_config(environments=["TicketAPI"], trace_length=[3, 3], k_max=2, round_retries=0)
    teacher = DropsLastClause()
    out = asyncio.run(synthesize_trajectory(0, cfg, 0, teacher))
    assert out.record is None
    assert ("phase3", "k_max_exhausted") in out.rejections
    assert teacher.reasoning_payloads and not any("ground_truth" in p for p in teacher.reasoning_payloads)
    # the same trajectory with the whole request is accepted: the dropped clause is what failed it
    whole = asyncio.run(synthesize_trajectory(0, cfg, 0, TemplateTeacher()))
    assert whole.record is not None, whole.rejections


def test_clauses_read_back_exactly():
    docs = {d["name"]: d for d in resolve_env(ALL8).docs()}
    cases = [
        ("send_message", {"receiver_id": "USR002", "message": "Hi, then log me out, 'please'. Also: 3 x [1]"}, {}),
        ("mean", {"numbers": [1.5, -2.0, 3e-05]}, {}),
        ("edit_ticket", {"updates": {"description": "a, b and c", "priority": 3}}, {"ticket_id": "this"}),
        ("ls", {"a": True}, {}),
        ("lockDoors", {"unlock": False, "door": ["driver"]}, {}),
        ("get_ticket", {}, {"ticket_id": "before"}),
    ]
    text = "Could you " + ", then ".join(clause_text(n, docs[n], stated, refs) for n, stated, refs in cases) + "?"
    clauses = read_request(text, list(docs.values()))
    assert [(c.name, c.stated, c.refs) for c in clauses] == cases, text


def test_no_intent_starts_another():
    """The reader takes the longest intent starting at a place; one that began another would hide it."""
    from funreason.synth.teachers.intents import INTENTS

    phrases = set(INTENTS.values())
    assert len(phrases) == len(INTENTS), "two tools share an intent: the reader could not tell them apart"
    assert not [(a, b) for a in phrases for b in phrases if a != b and b.startswith(a)]


def test_a_reference_resolves_only_when_one_value_fits():
    results = ['{"id": 7, "title": "x"}', '{"tickets": [{"id": 8}, {"id": 9}]}']
    assert value_from_results("ticket_id", "integer", results[:1]) == 7
    assert value_from_results("ticket_id", "integer", results) is None  # the newest result shows two
    assert value_from_results("number", "float", ['{"result": 48.0}']) == 48.0


def test_closing_replies_say_numbers_as_numbers():
    assert _describe("mean", "{'result': mpf('1.553294755664')}") == "The result is 1.5533."
    assert _describe("x", "{'total': Decimal('20.50'), 'items': ['a', 'b']}") == "Total: 20.5; items: a, b."
    text = _describe("get_user_tickets", '[{"id": 1, "title": "t"}, {"id": 2, "title": "u"}]')
    assert text == "It returned 2 records." and "{" not in text


def test_state_change_is_decided_by_replay_and_unasked_calls_are_counted():
    cfg = quiet_config(environments=["GorillaFileSystem"], trace_length=[3, 4], rounds=[2, 2])
    records = [asyncio.run(synthesize_trajectory(i, cfg, 0, TemplateTeacher())).record for i in range(4)]
    records = [r for r in records if r]
    clean = _counts(records)
    assert clean["state_changing_not_asked"] == clean["read_only_not_asked"] == 0
    # Forget what the first turn of each record asked for: its calls become unasked, each counted by what it did
    # on replay: cd moves a private cursor, which BFCL's state checker does not compare, and echo without a file
    # only prints: both read-only, whatever their names suggest.
    firsts = [r["metadata"]["turns"][0] for r in records]
    for turn in firsts:
        turn["asked"] = []
    after = _counts(records)
    calls = [c for t in firsts for c in t["ground_truth"]]
    names = [c.split("(", 1)[0] for c in calls]
    writes = sum(
        n in ("mkdir", "touch", "rm", "rmdir", "mv", "cp") or (n == "echo" and "file_name=" in c)
        for n, c in zip(names, calls)
    )
    reads = len(calls) - writes
    assert writes and reads and "echo" in names
    assert (after["state_changing_not_asked"], after["read_only_not_asked"]) == (writes, reads), (names, after)
    assert after["state_changing_calls"] == clean["state_changing_calls"]


def _counts(records: list[dict]) -> dict:
    counts = RequestedCounts()
    for record in records:
        counts.add(record)
    return counts.to_dict()


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    out = tmp_path_factory.mktemp("asked") / "synth"
    cfg = SynthConfig(environments=ALL8, num_trajectories=40, classes_per_trajectory=[1, 2], trace_length=[1, 8])
    run(cfg, out, seed=0, progress=False)
    stats = json.loads((out / "stats.json").read_text())
    records = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    return stats, records


def test_a_synthesized_run_makes_no_call_unasked(synthesized):
    stats, records = synthesized
    requested = stats["requested"]
    assert requested["state_changing_calls"] > 50 and requested["read_only_calls"] > 50
    assert requested["state_changing_not_asked"] == 0, requested
    assert requested["read_only_not_asked_share"] <= 0.02, requested
    assert stats["accepted"] >= 0.5 * stats["trajectories"]


def test_every_call_is_read_back_from_its_request(synthesized):
    """Independently of the run's own metadata: each turn's request, read back, names its calls in order, with the
    values the calls carry wherever the request states one."""
    _, records = synthesized
    checked = 0
    for record in records:
        messages = record["messages"]
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        for n, start in enumerate(users):
            end = users[n + 1] if n + 1 < len(users) else len(messages)
            text = messages[start]["content"]
            if n and record["metadata"]["turns"][n - 1]["ground_truth"] == []:  # a follow-up: both messages ask
                text = messages[users[n - 1]]["content"] + "\n" + text
            injected = set(record["metadata"]["injected_errors"])
            calls = [
                ToolCall.from_message(c)
                for i in range(start, end)
                for j, c in enumerate(messages[i].get("tool_calls") or [])
                if i + 1 + j not in injected
            ]
            if not calls:
                continue
            clauses = read_request(text, record["tools"])
            assert [c.name for c in clauses] == [c.name for c in calls], (text, calls)
            for clause, call in zip(clauses, calls):
                assert all(call.arguments[k] == v for k, v in clause.stated.items()), (text, call)
            checked += 1
    assert checked > 50


def test_requests_and_replies_read_like_a_person(synthesized):
    _, records = synthesized
    for record in records:
        for m in record["messages"]:
            text = m.get("content") or ""
            if m["role"] == "user":  # no "(param value)" dumps, no "you'll need ..." lists
                assert re.search(r"\w \((?:[a-z]+ )+['\d\[{-]", text) is None, text
                assert "you'll need" not in text
            if m["role"] == "assistant" and not m.get("tool_calls"):
                assert not any(x in text for x in ("mpf(", "Decimal(", "{'", '{"', "[{")), text
