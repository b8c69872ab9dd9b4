"""Teachers: the OpenAI-compatible client against a scripted loopback server (faults, retries, caps, concurrency),
the request batcher of the in-process engines, the hf teacher on the tiny model, and the teacher config.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_teachers.py
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from funreason.core.errors import RecipeError, UserError
from funreason.core.schema import Where, build
from funreason.core.sections.teacher import ROLES, TeacherConfig
from funreason.synth.teachers import make_teacher
from funreason.synth.teachers.base import Role, TeacherError
from funreason.synth.teachers.batching import Batcher, Request
from funreason.synth.teachers.openai_client import OpenAITeacher

from tests.fake_openai import FakeOpenAIServer, Fault

MSG = [{"role": "user", "content": "hi"}]


def fast_config(base_url: str, **kw) -> TeacherConfig:
    kw = {"max_retries": 2, "backoff_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 2.0, **kw}
    return TeacherConfig(kind="openai", base_url=base_url, model="fake-model", **kw)


def ask(teacher, role="querying"):
    async def go():
        try:
            return await teacher.generate(role, MSG, {})
        finally:
            await teacher.aclose()

    return asyncio.run(go())


class Script:
    """A responder that plays a list of replies in order, then repeats the last one."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls = 0

    def __call__(self, endpoint, request):
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        return reply


def test_roles_match_the_teacher_protocol():
    from typing import get_args

    assert set(ROLES) == set(get_args(Role))


def test_per_role_model_and_sampling_reach_the_server():
    script = Script("a query")
    with FakeOpenAIServer(script, models=["fake-model", "critic-model"]) as server:
        cfg = build(
            TeacherConfig,
            {
                "kind": "openai",
                "base_url": server.base_url,
                "model": "fake-model",
                "temperature": 0.7,
                "roles": {"critic": {"model": "critic-model", "temperature": 0.1, "max_tokens": 64}},
            },
            Where("recipe.yaml", "synth.teacher"),
        )
        teacher = make_teacher(cfg)
        assert ask(teacher, "querying") == "a query"
        teacher = make_teacher(cfg)
        assert ask(teacher, "critic") == "a query"
        (_, q), (_, c) = server.requests
    assert (q["model"], q["temperature"], q["max_tokens"]) == ("fake-model", 0.7, 2048)
    assert (c["model"], c["temperature"], c["max_tokens"]) == ("critic-model", 0.1, 64)
    assert q["messages"] == MSG


@pytest.mark.parametrize(
    "replies, kind, requests",
    [
        ([Fault(status=500)], "http_5xx", 3),  # retried max_retries times, then given up
        ([Fault(status=503), Fault(status=429, headers={"retry-after": "0"}), "ok"], None, 3),
        ([Fault(status=400)], "http_4xx", 1),  # a client error is not retried
        ([Fault(body=b'{"choices": [{"message": {"content": "unterminated')], "malformed", 3),
        ([Fault(body=b'{"choices": []}'), "recovered"], None, 2),
        ([""], "empty", 1),
        ([Fault(body=b"x" * 10_000_000)], "too_large", 1),
        ([Fault(hang=True)], "timeout", 3),
        ([Fault(delay=1.0, then="late")], "timeout", 3),
    ],
    ids=["500", "503-429-ok", "400", "malformed", "no-choices-then-ok", "empty", "10MB", "hang", "slow"],
)
@pytest.mark.parametrize("transport", ["http11", "aiohttp"])  # aiohttp is what speaks to a server behind a proxy
def test_faults_are_classified_and_retried(replies, kind, requests, transport):
    script = Script(*replies)
    with FakeOpenAIServer(script) as server:
        teacher = make_teacher(fast_config(server.base_url, timeout_s=0.3, max_response_bytes=1_000_000))
        teacher.transport = transport
        if kind is None:
            assert ask(teacher) in ("ok", "recovered")
        else:
            with pytest.raises(TeacherError) as err:
                ask(teacher)
            assert err.value.kind == kind
        assert script.calls == requests
        assert teacher.retries == requests - 1


def test_reasoning_split_off_by_the_server_is_put_back():
    body = {"choices": [{"message": {"role": "assistant", "content": "[ls()]", "reasoning_content": "list it"}}]}
    with FakeOpenAIServer(lambda e, r: body) as server:
        assert ask(make_teacher(fast_config(server.base_url)), "reasoning") == "<think>\nlist it\n</think>\n\n[ls()]"


def test_concurrency_is_bounded():
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def responder(endpoint, request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return "x"

    with FakeOpenAIServer(responder) as server:
        teacher = OpenAITeacher(fast_config(server.base_url, concurrency=3))

        async def go():
            out = await asyncio.gather(*(teacher.generate("closing", MSG, {}) for _ in range(12)))
            await teacher.aclose()
            return out

        assert asyncio.run(go()) == ["x"] * 12
    assert state["peak"] == 3


def test_unreachable_server_and_unknown_model_are_clear_errors():
    with FakeOpenAIServer() as server:
        url = server.base_url
        with pytest.raises(UserError, match=r"does not serve \['nope'\]"):
            make_teacher(TeacherConfig(kind="openai", base_url=url, model="nope"))
        assert make_teacher(TeacherConfig(kind="openai", base_url=url)).model == "fake-model"
    with pytest.raises(UserError, match="unreachable"):
        make_teacher(TeacherConfig(kind="openai", base_url=url, connect_timeout_s=1))


def test_teacher_config_is_validated():
    with pytest.raises(RecipeError, match="unknown role 'planner'"):
        build(TeacherConfig, {"roles": {"planner": {}}}, Where("r.yaml", "synth.teacher"))
    with pytest.raises(RecipeError, match="base_url is required"):
        TeacherConfig(kind="openai")
    with pytest.raises(RecipeError, match="did you mean 'temperature'"):
        build(TeacherConfig, {"roles": {"critic": {"temprature": 0}}}, Where("r.yaml", "synth.teacher"))


def test_batcher_sends_all_pending_requests_in_one_call_and_spreads_errors():
    calls = []

    def run_batch(requests):
        calls.append([r.role for r in requests])
        if any(r.role == "critic" for r in requests):
            raise RuntimeError("engine died")
        return [f"{r.role}:{r.messages[0]['content']}" for r in requests]

    async def go():
        b = Batcher(run_batch, window_ms=20, max_batch_size=8)
        reqs = [Request("querying", [{"role": "user", "content": str(i)}]) for i in range(10)]
        texts = await asyncio.gather(*(b.submit(r) for r in reqs))
        bad = await asyncio.gather(
            b.submit(Request("critic", MSG)), b.submit(Request("tooling", MSG)), return_exceptions=True
        )
        return b, texts, bad

    b, texts, bad = asyncio.run(go())
    assert texts == [f"querying:{i}" for i in range(10)]
    assert b.batch_sizes == [8, 2, 2]  # all ten pending ones at once, split only by max_batch_size
    assert all(isinstance(e, RuntimeError) for e in bad)


def test_hf_teacher_batches_and_is_greedy_deterministic(tiny_model_dir):
    cfg = TeacherConfig(kind="hf", model=str(tiny_model_dir), temperature=0.0, max_tokens=6, device="cpu")
    teacher = make_teacher(cfg)
    convs = [[{"role": "user", "content": "list the files"}], [{"role": "user", "content": "cd to docs"}]]
    texts = teacher._run_batch(
        [Request("reasoning", convs[0]), Request("critic", convs[1]), Request("tooling", convs[0])]
    )
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert texts[0] == texts[2]  # same prompt, greedy: same text whatever it is batched with

    async def go():
        out = await asyncio.gather(*(teacher.generate("querying", c, {}) for c in convs), return_exceptions=True)
        return out

    out = asyncio.run(go())
    assert teacher.batcher.batch_sizes == [2]
    assert all(isinstance(t, str) or (isinstance(t, TeacherError) and t.kind == "empty") for t in out)


def test_vllm_teacher_needs_vllm():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="needs the vllm package"):
            make_teacher(TeacherConfig(kind="vllm", model="/nonexistent"))
    else:
        pytest.skip("vllm is installed: the engine itself is exercised on GPU machines only")


class TemplateOverHTTP(OpenAITeacher):
    """The openai teacher, shipping the template teacher's answer in the request for the fake server to echo
    (or to corrupt): the whole pipeline then runs over real HTTP with replies that can complete trajectories."""

    def __init__(self, config):
        from funreason.synth.teachers.template import TemplateTeacher

        super().__init__(config)
        self.template = TemplateTeacher()

    async def generate(self, role, messages, payload):
        body = self.request_body(role, messages)
        body["fake_reply"] = await self.template.generate(role, messages, payload)
        return await self.request(body)


def test_pipeline_counts_every_teacher_fault_and_finishes(tmp_path):
    """Malformed bodies, invalid JSON, wrong tool names, empty replies, 500s, timeouts and 10 MB bodies: each is
    counted as a rejection reason in stats; none stops the run."""
    import json

    from funreason.core.sections.synth import SynthConfig
    from funreason.synth.agents import SYSTEM_PROMPTS
    from funreason.synth.pipeline import run
    from funreason.synth.writer import read_entries

    faults = [
        Fault(body=b'{"choices": [{"mess'),  # malformed body
        Fault(status=500),
        "",  # empty reply
        "Sure! Here is what you asked for.",  # not JSON
        Fault(hang=True),  # timeout
        Fault(body=b"x" * 10_000_000),  # 10 MB
    ]
    lock, state = threading.Lock(), {"n": 0, "reasoning": 0}

    def responder(endpoint, request):
        with lock:
            n = state["n"] = state["n"] + 1
            is_reasoning = request["messages"][0]["content"] == SYSTEM_PROMPTS["reasoning"]
            r = state["reasoning"] = state["reasoning"] + is_reasoning
        if is_reasoning and r % 3 == 1:
            reply = json.loads(request["fake_reply"])
            reply["calls"] = [{**c, "name": "no_such_tool"} for c in reply["calls"]]
            return json.dumps(reply)
        if n % 3 == 0:
            return faults[(n // 3) % len(faults)]
        return request["fake_reply"]

    with FakeOpenAIServer(responder) as server:
        teacher_cfg = fast_config(server.base_url, max_retries=0, timeout_s=0.5, concurrency=8)
        # json_retries=0: every bad reply becomes a rejection reason instead of being absorbed by a re-ask.
        config = SynthConfig(
            environments=["GorillaFileSystem", "MathAPI"], num_trajectories=8, json_retries=0, teacher=teacher_cfg
        )
        summary = run(config, tmp_path, seed=0, teacher=TemplateOverHTTP(teacher_cfg), progress=False)
    assert summary["complete"] and summary["attempted"] == 8
    assert summary["accepted"] > 0  # faults cost rounds, not the run
    reasons = {reason for e in read_entries(tmp_path).values() for _, reason in e["rejections"]}
    counted = json.loads((tmp_path / "stats.json").read_text())["rejection_reasons"]
    for kind in [
        "teacher:malformed",
        "teacher:http_5xx",
        "teacher:empty",
        "invalid_json",
        "teacher:timeout",
        "teacher:too_large",
        "unknown_tool",
    ]:
        assert any(kind in r for r in reasons), (kind, reasons)  # reasons read "<agent role>:<kind>"
        assert sum(n for r, n in counted.items() if kind in r) >= 1, (kind, counted)


# A thinking teacher's reasoning quotes JSON-ish text (braces, a draft object); only the answer after it is JSON.
_THINK = 'The user wants {"query": ...}; a draft {"query": "draft"} is too long. Also {unbalanced'
_ANSWER = '{"query": "Book the usual flight, please."}'


@pytest.mark.parametrize(
    "message",
    [
        {"role": "assistant", "content": _ANSWER, "reasoning_content": _THINK},  # split off by the server
        {"role": "assistant", "content": f"<think>\n{_THINK}\n</think>\n\n{_ANSWER}"},  # inline
        {"role": "assistant", "content": f"{_THINK}\n</think>\n{_ANSWER}"},  # opening tag in the chat template
    ],
)
def test_json_answers_are_parsed_from_the_answer_never_the_reasoning(message):
    from funreason.synth.agents import Agents, parse_json_reply, split_reasoning

    body = {"choices": [{"message": message}]}
    with FakeOpenAIServer(lambda e, r: body) as server:
        text = ask(make_teacher(fast_config(server.base_url)), "querying")
        assert split_reasoning(text) == (_THINK, _ANSWER)
        assert parse_json_reply(text) == {"query": "Book the usual flight, please."}

        async def go():
            teacher = make_teacher(fast_config(server.base_url))
            try:
                return await Agents(teacher, json_retries=0).ask("querying", {"mode": "hard"})
            finally:
                await teacher.aclose()

        assert asyncio.run(go()) == ({"query": "Book the usual flight, please."}, None)


def test_a_reply_cut_off_while_thinking_has_no_json():
    from funreason.synth.agents import parse_json_reply

    with pytest.raises(ValueError):
        parse_json_reply('<think>\nI will answer {"query": "x"} once I')


def test_the_querying_agent_is_told_to_copy_input_values_verbatim():
    from funreason.synth.agents import SYSTEM_PROMPTS

    assert "verbatim" in SYSTEM_PROMPTS["querying"]
