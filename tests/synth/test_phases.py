"""Phases II and III and multi-turn assembly: each does its job, with the template teacher and scripted teachers."""

from __future__ import annotations

import asyncio
import json

import pytest
from funreason.core.sections.synth import SynthConfig
from funreason.envs.resolve import resolve_env
from funreason.synth.agents import Agents, schema_errors
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.teachers.base import TeacherError
from funreason.synth.teachers.requests import read_request
from funreason.synth.teachers.template import TemplateTeacher
from funreason.synth.trajectory import replay_record

from tests.synth_configs import quiet_config

TOY = "tests.toy_env:ToyLibrary"


def run(coro):
    return asyncio.run(coro)


class Scripted(TemplateTeacher):
    """The template teacher, except that in the first `fail` phase-III attempts the reasoning agent reads the request
    without its last clause (so it never makes the round's last call and says it is done instead), and chosen
    roles can answer with fixed text or raise TeacherError."""

    name = "scripted"

    def __init__(self, fail: int = 0, replies: dict | None = None):
        self.fail = fail
        self.failing = False
        self.replies = replies or {}
        self.payloads: dict[str, list[dict]] = {}

    async def generate(self, role, messages, payload):
        self.payloads.setdefault(role, []).append(payload)
        if role in self.replies:
            reply = self.replies[role]
            if isinstance(reply, Exception):
                raise reply
            return reply
        if role == "reasoning" and not payload.get("steps"):  # a new attempt
            self.failing = self.fail > 0
            self.fail -= self.failing
        if role == "reasoning" and self.failing:
            clauses = read_request(payload["query"], payload["tools"])
            payload = {**payload, "query": payload["query"][: clauses[-1].start] if clauses else ""}
            data = json.loads(await super().generate(role, messages, payload))
            if not data["calls"] and not payload.get("steps"):
                data["calls"] = [{"name": "pwd", "arguments": {}}]
            data["calls"] = [c for c in data["calls"] if c["name"] in {t["name"] for t in payload["tools"]}]
            return json.dumps(data)
        return await super().generate(role, messages, payload)


def config(**kw) -> SynthConfig:
    return quiet_config(**{"environments": ["GorillaFileSystem"], "trace_length": [3, 3], **kw})


def test_phase2_hides_steps_and_phase2_off_is_forward():
    teacher = Scripted()
    out = run(
        synthesize_trajectory(
            0,
            config(environments=["TravelAPI"], targets=["book_flight"], target_policy="list", trace_length=[4, 4]),
            0,
            teacher,
        )
    )
    assert out.record is not None
    tool = json.loads(asyncio.run(TemplateTeacher().generate("tooling", [], teacher.payloads["tooling"][0])))
    primitive = {s["name"] for s in teacher.payloads["tooling"][0]["trace"]}
    assert tool["name"] not in primitive
    hard = teacher.payloads["querying"][0]
    assert hard["mode"] == "hard" and hard["advanced_tool"]["name"] == tool["name"]
    query = out.record["messages"][0]["content"]
    assert not any(f"{name}(" in query for name in primitive)
    # the advanced tool never reaches the sample
    assert tool["name"] not in json.dumps(out.record)

    forward = Scripted()
    out2 = run(synthesize_trajectory(0, config(environments=["TravelAPI"], phase2=False), 0, forward))
    assert "tooling" not in forward.payloads and forward.payloads["querying"][0]["mode"] == "forward"
    assert out2.record["metadata"]["turns"][0]["phase2"] is False
    steps = forward.payloads["querying"][0]["steps"]
    assert all(s["phrase"] in out2.record["messages"][0]["content"] for s in steps), "forward = every step"


def test_critic_loop_fails_twice_then_passes_and_leaves_no_hint():
    teacher = Scripted(fail=2)
    out = run(synthesize_trajectory(1, config(k_max=3), 0, teacher))
    assert out.record is not None, out.rejections
    assert out.record["metadata"]["turns"][0]["phase3_attempts"] == 3
    hints = [p["hints"] for p in teacher.payloads["reasoning"] if not p["steps"]]  # at each attempt's start
    assert [len(h) for h in hints] == [1, 2, 3], "Prompt(1) = Des(T_adv), then the critic's hints accumulate"
    tool = json.loads(asyncio.run(TemplateTeacher().generate("tooling", [], teacher.payloads["tooling"][0])))
    assert hints[0][0] == f"The request amounts to one operation: {tool['description']}"
    assert len(teacher.payloads["critic"]) == 2
    text = json.dumps(out.record)
    assert all(h not in text for h in hints[-1]), "hints must not reach the sample"
    assert replay_record(out.record) == []


def test_k_max_exhausted_drops_the_round():
    out = run(synthesize_trajectory(1, config(k_max=2, round_retries=0), 0, Scripted(fail=99)))
    assert out.record is None
    assert ("phase3", "k_max_exhausted") in out.rejections
    assert out.counters["phase3_attempts"] == [2]


def test_phase3_off_single_attempt_kept_unchecked():
    teacher = Scripted(fail=1)
    out = run(synthesize_trajectory(1, config(phase3=False), 0, teacher))
    assert out.record is not None and out.record["metadata"]["turns"][0]["phase3_attempts"] == 1
    assert "critic" not in teacher.payloads
    assert replay_record(out.record) == []  # what was kept is what really ran


@pytest.mark.parametrize(
    "reply,reason",
    [
        ("not json at all", "invalid_json"),
        ('{"think": "x"}', "schema:calls"),
        ('{"think": "x", "calls": [{"name": "rm_everything", "arguments": {}}]}', "unknown_tool"),
        (TeacherError("timeout"), "teacher:timeout"),
        ("", "invalid_json"),
    ],
)
def test_bad_teacher_output_is_a_counted_rejection(reply, reason):
    teacher = Scripted(replies={"reasoning": reply})
    out = run(synthesize_trajectory(2, config(round_retries=0, json_retries=1), 0, teacher))
    assert out.record is None
    assert ("phase3", f"reasoning:{reason}") in out.rejections
    if not isinstance(reply, Exception):
        assert len(teacher.payloads["reasoning"]) == 2 * 3, "each attempt re-asks json_retries times"


def test_tooling_leak_and_critic_leak_are_rejected():
    class Leaky(Scripted):
        async def generate(self, role, messages, payload):
            if role == "tooling":
                names = " then ".join(f"`{s['name']}`" for s in payload["trace"])
                return json.dumps({"name": "x", "description": f"calls {names}", "parameters": {}, "returns": ""})
            return await super().generate(role, messages, payload)

    out = run(synthesize_trajectory(3, config(round_retries=0, trace_length=[2, 2]), 0, Leaky()))
    assert out.record is None and out.rejections == [
        ("phase2", "tooling:leaks_steps"),
        ("assembly", "no_round_survived"),
    ]
    agents = Agents(Scripted(replies={"critic": '{"hint": "call cd(folder=\'alpha_q1\')"}'}), json_retries=0)
    hint, why = run(
        agents.critic({"query": "q", "ground_truth": [{"name": "cd", "arguments": {"folder": "alpha_q1"}}]})
    )
    assert hint is None and why == "hint_leaks_answer"
    assert schema_errors({"hint": ""}, {"type": "object", "properties": {"hint": {"type": "string", "minLength": 1}}})


def test_multi_turn_cases_on_bfcl():
    cfg = config(
        environments=["TwitterAPI", "TicketAPI"],
        rounds=[3, 3],
        miss_param_ratio=0.5,
        miss_func_ratio=1.0,
        error_response_ratio=1.0,
        long_context_ratio=1.0,
        trace_length=[2, 4],
    )
    kinds, flags = set(), set()
    for index in range(6):
        out = run(synthesize_trajectory(index, cfg, 0, TemplateTeacher()))
        if out.record is None:
            continue
        meta = out.record["metadata"]
        assert meta["long_context"] is True
        assert replay_record(out.record) == []
        kinds |= {t["kind"] for t in meta["turns"]}
        flags |= {k for k, v in meta["flags"].items() if v}
        for i, turn in enumerate(meta["turns"]):
            if turn["kind"] in ("miss_param", "miss_func"):
                assert turn["ground_truth"] == [] and meta["turns"][i + 1]["kind"] == turn["kind"] + "_followup"
            if turn["kind"] == "miss_func":
                missing = turn["missing_functions"][0]
                earlier = [c for t in meta["turns"][:i] for c in t["ground_truth"]]
                assert not any(c.startswith(missing + "(") for c in earlier)
                assert meta["missed_function"][str(i + 1)] == [missing]
        users = sum(m["role"] == "user" for m in out.record["messages"])
        assert users == len(meta["turns"])
    assert {"miss_param", "miss_func", "normal"} <= kinds | {"normal"} and "miss_func" in kinds
    assert {"error_tool_response", "miss_func"} <= flags


def test_toy_environment_end_to_end():
    cfg = config(environments=[TOY], rounds=[2, 3], trace_length=[2, 4], targets=["checkout"], target_policy="list")
    outs = [run(synthesize_trajectory(i, cfg, 5, TemplateTeacher())) for i in range(4)]
    records = [o.record for o in outs if o.record]
    assert len(records) >= 3
    assert any("checkout" in c for r in records for t in r["metadata"]["turns"] for c in t["ground_truth"])
    for record in records:
        assert record["metadata"]["involved_classes"] == ["ToyLibrary"]
        assert replay_record(record) == []


def test_sampled_arguments_match_their_schema_types():
    """Pools are keyed by parameter name; a value of the wrong type (a bool for a float) must never be sampled."""
    from funreason.synth.sampler import _fits

    assert _fits(2.5, "float") and _fits(3, "float") and not _fits(False, "float")
    assert _fits(3, "integer") and _fits("12", "integer") and not _fits(True, "integer") and not _fits("x", "integer")
    assert _fits(True, "boolean") and not _fits(1, "boolean")
    assert _fits("a", "string") and _fits(4, "string") and not _fits(None, "string")
    assert _fits([1], "array") and not _fits("a", "array")


def test_synthesized_math_calls_use_numbers():
    # MathAPI has no boolean parameter, so a bool in its calls can only come from a mistyped pool value.
    import asyncio

    from funreason.core.sections.synth import SynthConfig
    from funreason.synth.assembly import synthesize_trajectory
    from funreason.synth.teachers import make_teacher

    cfg = SynthConfig(environments=["MathAPI"], num_trajectories=12)
    teacher = make_teacher(cfg.teacher)
    bools = []
    for i in range(12):
        out = asyncio.run(synthesize_trajectory(i, cfg, 0, teacher))
        for m in (out.record or {}).get("messages", []):
            for call in m.get("tool_calls") or []:
                args = call["function"]["arguments"]
                bools += [(call["function"]["name"], k) for k, v in args.items() if isinstance(v, bool)]
    assert not bools, bools


def test_template_queries_state_flags_as_a_user_would():
    """A flag is asked for in the words of its own description ("show hidden files and directories: yes"), never
    as "a True": BFCL's requests say "including the hidden ones", and the mechanical form teaches nothing of that."""
    seen = []
    for seed in range(12):
        teacher = Scripted()
        cfg = config(targets=["ls"], target_policy="list", trace_length=[1, 1], phase2=False)
        out = run(synthesize_trajectory(seed, cfg, 0, teacher))
        step = teacher.payloads["querying"][0]["steps"][0]
        if out.record is None or "a" not in step["stated"]:
            continue
        query = out.record["messages"][0]["content"]
        answer = "yes" if step["stated"]["a"] else "no"
        assert f"show hidden files and directories: {answer}" in query, query
        assert "a True" not in query and "a False" not in query
        call = out.record["messages"][1]["tool_calls"][0]["function"]
        assert call["name"] == "ls" and call["arguments"]["a"] is step["stated"]["a"]
        seen.append(answer)
    assert seen, "no ls call with its flag in 12 seeds"


def test_offered_tools_called_keeps_the_dialogue_and_offers_called_plus_distractors():
    cfg = dict(environments=["TwitterAPI", "TicketAPI"], classes_per_trajectory=[2, 2], rounds=[2, 3])
    cfg.update(miss_func_ratio=1.0, error_response_ratio=1.0)
    for index in range(4):
        full = run(synthesize_trajectory(index, config(**cfg), 0, TemplateTeacher())).record
        short = run(synthesize_trajectory(index, config(offered_tools="called", **cfg), 0, TemplateTeacher())).record
        assert full is not None and short is not None
        # Same dialogue, same metadata: only the offered docs differ (drawn last from the trajectory's RNG).
        assert short["messages"] == full["messages"] and short["metadata"] == full["metadata"]
        names = [d["name"] for d in short["tools"]]
        called = {c["function"]["name"] for m in short["messages"] for c in m.get("tool_calls") or []}
        called |= {f for fs in short["metadata"]["missed_function"].values() for f in fs}
        assert called <= set(names) and len(names) == len(called) + 4  # num_distractors defaults to 4
        assert names == [d["name"] for d in full["tools"] if d["name"] in set(names)]  # class order kept
        assert len(full["tools"]) > len(names)
        assert replay_record(short) == []


def test_template_data_reads_like_a_user_and_an_assistant():
    """Requests never restate a tool's doc sentence (nor BFCL's typos), reasoning says where each argument comes
    from, closing replies are prose (no raw JSON), and stats.json measures exactly that."""
    from funreason.synth.stats import SynthStats, _doc_sentence
    from funreason.synth.teachers.intents import INTENTS

    all8 = ["GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI", "TradingBot", "TravelAPI",
            "VehicleControlAPI"]  # fmt: skip
    docs = resolve_env(all8).docs()
    assert {d["name"] for d in docs} <= set(INTENTS)
    for d in docs:
        sentence = _doc_sentence(d)
        assert not (len(sentence.split()) >= 3 and sentence in INTENTS[d["name"]].lower()), d["name"]
    cfg = config(environments=all8, rounds=[2, 3], trace_length=[1, 5])
    stats = SynthStats()
    for seed in range(16):
        out = run(synthesize_trajectory(seed, cfg, 0, TemplateTeacher()))
        stats.add(out)
        if out.record is None:
            continue
        for m in out.record["messages"]:
            text = m.get("content") or ""
            if m["role"] == "user":
                assert "currrent" not in text.lower()
            if m["role"] == "assistant" and m.get("tool_calls"):
                sources = ("from the request", "from what we saw earlier", "from what the calls so far returned")
                assert any(x in m["reasoning_content"] for x in sources) or not any(
                    tc["function"]["arguments"] for tc in m["tool_calls"]
                )
            if m["role"] == "assistant" and not m.get("tool_calls"):
                assert '{"' not in text, text
    quality = stats.to_dict()["quality"]
    assert quality["calls_restating_docs"] <= 0.05, quality
    assert quality["turns_repeating_a_call"] <= 0.1, quality
    assert quality["targets_reached"] >= 0.9, quality


def test_the_refusal_of_a_miss_func_turn_is_not_told_the_withheld_tool():
    """Before the holdout turn the conversation has never shown the withheld tool: the teacher writing the refusal
    must not be handed its name (an LLM teacher would write it into the reply, teaching knowledge not yet shown)."""
    cfg = config(environments=["TwitterAPI", "TicketAPI"], rounds=[3, 3], miss_func_ratio=1.0, trace_length=[2, 3])
    seen = 0
    for index in range(6):
        teacher = Scripted()
        out = run(synthesize_trajectory(index, cfg, 0, teacher))
        if out.record is None or not out.record["metadata"]["missed_function"]:
            continue
        (missing,) = [name for names in out.record["metadata"]["missed_function"].values() for name in names]
        refusals = [p for p in teacher.payloads.get("closing", []) if p.get("mode") == "cannot"]
        # The request may use a word of the tool's name ("comment"); nothing beyond the request may be passed.
        assert refusals and all(set(p) == {"mode", "query"} for p in refusals), (missing, refusals)
        seen += 1
    assert seen, "no miss_func trajectory was made: the test checked nothing"
