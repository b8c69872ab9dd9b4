"""The `openai` teacher against a loopback fake model that answers from the request alone (no ground truth, no
payload object): each agent's prompt must carry what a real model needs, and dependent chains must still pass
phase III, step by step, with every call after the result that shows its values."""

from __future__ import annotations

import asyncio
import json
import re

from funreason.core.sections.synth import SynthConfig
from funreason.core.sections.teacher import TeacherConfig
from funreason.synth.agents import SYSTEM_PROMPTS
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.causality import premature_calls
from funreason.synth.teachers import make_teacher
from funreason.synth.trajectory import replay_record

from tests.fake_openai import FakeOpenAIServer
from tests.synth_configs import travel_chain_config

ROLE_OF = {prompt: role for role, prompt in SYSTEM_PROMPTS.items()}
VALUE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|\[[^\]]*\])')


def _known_from_text(text: str) -> dict:
    """`name=<json>` pairs the fake querying agent wrote (a model reading the request)."""
    out = {}
    for name, raw in VALUE.findall(text):
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            pass
    return out


def _known_from_result(result: str) -> dict:
    try:
        value = json.loads(result)
    except (json.JSONDecodeError, TypeError):
        return {}
    return {k: v for k, v in value.items() if not isinstance(v, (dict, list))} if isinstance(value, dict) else {}


def _reason(shown: dict) -> dict:
    """A model that reads the request, the tool docs and the results so far: it calls every tool whose required
    parameters it can fill, by name, from the request or a result; a transient error is retried."""
    steps = shown["steps"]
    if steps and any(r.startswith('{"error"') for r in steps[-1]["results"]):
        return {"think": "That failed for a temporary reason; I try again.", "calls": steps[-1]["calls"]}
    known = _known_from_text(shown["query"])
    made = []
    for step in steps:
        for call, result in zip(step["calls"], step["results"]):
            known.update(_known_from_result(result))
            made.append(call)
    calls = []
    for tool in shown["tools"]:
        params = tool.get("parameters") or {}
        required = params.get("required") or []
        if not required or any(p not in known for p in required):
            continue
        call = {"name": tool["name"], "arguments": {p: known[p] for p in params.get("properties", {}) if p in known}}
        if call not in made:
            calls.append(call)
    return {"think": f"I can make {len(calls)} call(s) with what I know now.", "calls": calls}


def responder(endpoint: str, request: dict):
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    role = ROLE_OF[system]
    shown = json.loads(user)
    if role == "tooling":
        answer = {"name": "do_it_all", "description": "Carries out the whole errand in one go.", "parameters": {}}
        answer["returns"] = "the outcome"
    elif role == "querying":
        withheld = (shown.get("withhold") or {}).get("param")
        given = [i for i in shown["inputs"] if i["param"] != withheld or shown["mode"] == "supply"]
        if shown["mode"] == "supply":
            given = [i for i in given if i["param"] == withheld]
        answer = {"query": "Please: " + ", ".join(f"{i['param']}={json.dumps(i['value'])}" for i in given)}
    elif role == "reasoning":
        answer = _reason(shown)
    elif role == "critic":
        answer = {"hint": "Some step of the request is missing or has the wrong input; re-check each step."}
    else:
        answer = {"think": "Summing up.", "reply": "All done."}
    return f"<think>Let me see {{what is asked}}.</think>{json.dumps(answer)}"


def _config(**kw) -> SynthConfig:
    return travel_chain_config(**{"num_distractors": 4, **kw})


def _synthesize(config: SynthConfig, n: int, server: FakeOpenAIServer):
    teacher = make_teacher(TeacherConfig(kind="openai", base_url=server.base_url, model="fake-model", timeout_s=10))

    async def go():
        try:
            return [await synthesize_trajectory(i, config, 0, teacher) for i in range(n)]
        finally:
            await teacher.aclose()

    return asyncio.run(go())


def test_payload_only_teacher_passes_dependent_chains_step_by_step():
    with FakeOpenAIServer(responder) as server:
        outcomes = _synthesize(_config(error_response_ratio=0.5), 6, server)
        requests = [json.loads(body["messages"][1]["content"]) for _, body in server.requests]
        roles = [ROLE_OF[body["messages"][0]["content"]] for _, body in server.requests]
    records = [o.record for o in outcomes if o.record]
    assert len(records) >= 5, [o.rejections for o in outcomes]
    chains = 0
    for record in records:
        assert premature_calls(record) == []
        assert replay_record(record) == []
        steps = [[c["function"]["name"] for c in m["tool_calls"]] for m in record["messages"] if m.get("tool_calls")]
        # the token comes back from authenticate_travel before the balance call that needs it
        if "authenticate_travel" in steps[0] and "get_credit_card_balance" not in steps[0]:
            chains += any("get_credit_card_balance" in s for s in steps[1:])
    assert chains >= 5
    assert any(r["metadata"]["flags"]["error_tool_response"] for r in records), "a transient error was recovered"
    # what the model saw: never the ground truth or the plan; Des(T_adv) is its first hint
    reasoning = [p for p, role in zip(requests, roles) if role == "reasoning"]
    assert all(set(p) == {"conversation", "query", "tools", "hints", "steps"} for p in reasoning)
    assert reasoning[0]["hints"] == ["The request amounts to one operation: Carries out the whole errand in one go."]
    assert not any("ground_truth" in p or "plan" in p for p, role in zip(requests, roles) if role != "critic")


def test_critic_sees_results_and_a_bounded_diff():
    """A model that never makes the balance call fails phase III; the critic's prompt shows what the attempt's
    calls returned and only the differing state, and stays small."""

    def lazy(endpoint, request):
        role = ROLE_OF[request["messages"][0]["content"]]
        if role == "reasoning":
            shown = json.loads(request["messages"][1]["content"])
            answer = _reason(shown)
            answer["calls"] = [c for c in answer["calls"] if c["name"] == "authenticate_travel"]
            return json.dumps(answer)
        return responder(endpoint, request)

    with FakeOpenAIServer(lazy) as server:
        outcomes = _synthesize(_config(k_max=2, round_retries=0, error_response_ratio=0.0), 1, server)
        critic = [json.loads(b["messages"][1]["content"]) for _, b in server.requests
                  if ROLE_OF[b["messages"][0]["content"]] == "critic"]  # fmt: skip
        sizes = [sum(len(m["content"]) for m in b["messages"]) for _, b in server.requests
                 if ROLE_OF[b["messages"][0]["content"]] == "critic"]  # fmt: skip
    assert outcomes[0].record is None and ("phase3", "k_max_exhausted") in outcomes[0].rejections
    assert len(critic) == 2 and outcomes[0].counters["critic_prompt_chars"] == sizes
    attempt = critic[0]["attempt"]
    assert attempt[0]["calls"][0]["name"] == "authenticate_travel" and "access_token" in attempt[0]["results"][0]
    verdict = critic[0]["verdict"]
    assert "model_instance_state" not in json.dumps(verdict) and max(sizes) < 8000
