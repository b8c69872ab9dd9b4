"""Causal steps: a call that needs a value only an earlier call's result shows comes in a later assistant step,
after that result; the phases are readable functions."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.causality import premature_calls
from funreason.synth.stats import SynthStats
from funreason.synth.teachers.template import TemplateTeacher
from funreason.synth.trajectory import replay_record

from tests.synth_configs import travel_chain_config

AUTH = {"name": "authenticate_travel", "arguments": {"client_id": "c1x", "client_secret": "s3cret"}}
BALANCE = {"name": "get_credit_card_balance", "arguments": {"access_token": "804437", "card_id": "1234567"}}
TOKEN = '{"expires_in": 2, "access_token": "804437", "token_type": "Bearer"}'
TRAVEL = {"involved_classes": ["TravelAPI"], "initial_config": {}}  # what a replay of these records builds


def _call(c: dict) -> dict:
    return {"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}


def test_premature_calls_finds_the_one_step_chain():
    user = {"role": "user", "content": "Check card 1234567; client id c1x, secret s3cret."}
    one_step = {
        "messages": [
            user,
            {"role": "assistant", "content": "", "tool_calls": [_call(AUTH), _call(BALANCE)]},
            {"role": "tool", "name": "authenticate_travel", "content": TOKEN},
            {"role": "tool", "name": "get_credit_card_balance", "content": '{"card_balance": 10.0}'},
        ]
    }
    assert premature_calls(one_step) == [(1, "get_credit_card_balance", "804437")]
    two_steps = {
        "messages": [
            user,
            {"role": "assistant", "content": "", "tool_calls": [_call(AUTH)]},
            {"role": "tool", "name": "authenticate_travel", "content": TOKEN},
            {"role": "assistant", "content": "", "tool_calls": [_call(BALANCE)]},
            {"role": "tool", "name": "get_credit_card_balance", "content": '{"card_balance": 10.0}'},
        ]
    }
    assert premature_calls(two_steps) == []
    stats = SynthStats()
    for record in (one_step, two_steps):
        record["tools"], record["metadata"] = [], {"environment": "TravelAPI", "turns": [], **TRAVEL}
        stats.add(type("O", (), {"record": record, "rejections": [], "counters": {}})())
    assert stats.to_dict()["causality"]["calls_emitted_before_their_source_result"] == 1


def test_template_dialogue_on_a_dependent_chain_is_causal_and_replays():
    config = travel_chain_config(rounds=[1, 2], trace_length=[2, 3])
    records = [asyncio.run(synthesize_trajectory(i, config, 3, TemplateTeacher())).record for i in range(4)]
    seen_chain = False
    for record in records:
        assert premature_calls(record) == [] and replay_record(record) == []
        messages = record["messages"]
        for i, m in enumerate(messages):
            names = [c["function"]["name"] for c in m.get("tool_calls") or []]
            if names == ["authenticate_travel"]:
                token = json.loads(messages[i + 1]["content"])["access_token"]
                later = messages[i + 2]
                assert later["role"] == "assistant" and later.get("tool_calls")
                uses = [c["function"]["arguments"].get("access_token") for c in later["tool_calls"]]
                assert token in uses
                assert token in later["reasoning_content"], "the thought reads the token from the result"
                seen_chain = True
    assert seen_chain


def test_injected_error_is_a_plausible_call_then_a_verified_retry():
    config = travel_chain_config(error_response_ratio=1.0)
    record = asyncio.run(synthesize_trajectory(0, config, 0, TemplateTeacher())).record
    meta = record["metadata"]
    assert meta["flags"]["error_tool_response"] and meta["turns"][0]["error_tool_response"]
    (index,) = meta["injected_errors"]
    messages = record["messages"]
    error, failed = messages[index], messages[index - 1]
    assert json.loads(error["content"])["error"] and error["name"] == "get_credit_card_balance"
    retry = messages[index + 1]
    assert retry["tool_calls"] == failed["tool_calls"], "the same call (the one the user asked for) is retried"
    assert "temporary error" in retry["reasoning_content"]
    assert "I'll start by calling" not in json.dumps(record)
    gt = meta["turns"][0]["ground_truth"]
    assert [c.split("(")[0] for c in gt] == ["authenticate_travel", "get_credit_card_balance"]
    assert replay_record(record) == [] and premature_calls(record) == []


def test_synth_functions_are_short():
    """The phases are readable at once: no function in synth/ over 80 lines."""
    long = []
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("synth").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 80:
                    long.append(f"{path.name}:{node.name} ({lines} lines)")
    assert not long, long
