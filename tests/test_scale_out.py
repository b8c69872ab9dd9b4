"""Several teacher / eval servers behind one recipe (core/routing.py): sticky per conversation, spread evenly,
surviving a dead server, stopping resumably when all are gone.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_scale_out.py

The end-to-end tests run synthesis (openai teacher) and eval (openai backend) against three loopback fake
servers, kill one mid-run and slow another, and compare with a run against one healthy server: the same accepted
trajectories and the same result rows, each conversation on one server while that server lived, nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from funreason.core.errors import UserError
from funreason.core.routing import Fault, ServerPool, ServersGone
from funreason.core.sections.chat import ChatOptions
from funreason.core.sections.synth import SynthConfig
from funreason.eval import bfcl_layout as layout
from funreason.eval.backends import Sampling, ground_truth_script
from funreason.eval.backends.openai import OpenAIBackend
from funreason.eval.runner import LockstepRunner
from funreason.eval.tasks import load_tasks
from funreason.synth.pipeline import run
from funreason.synth.writer import read_entries

from tests.fake_openai import FakeOpenAIServer
from tests.synth.test_teachers import TemplateOverHTTP, fast_config

URLS = [f"http://node{i}:8000/v1" for i in range(4)]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pool_with(up: dict[str, bool], clock=None, **kw) -> tuple[ServerPool, list[str]]:
    probed = []

    async def probe(url):
        probed.append(url)
        return up[url]

    return ServerPool(list(up), probe, "test", clock=clock or Clock(), **kw), probed


def route(pool: ServerPool, conversation: str) -> str:
    return asyncio.run(pool.server_for(conversation))


# --- routing, unit by unit -------------------------------------------------------------------------------------
def test_routing_is_stable_across_pools_and_spreads_evenly():
    a, _ = pool_with(dict.fromkeys(URLS, True))
    b, _ = pool_with(dict.fromkeys(reversed(URLS), True))  # the order the URLs are listed in does not matter
    routes = [route(a, f"conv-{i}") for i in range(4000)]
    assert routes == [route(b, f"conv-{i}") for i in range(4000)]
    spread = Counter(routes)
    assert set(spread) == set(URLS) and max(spread.values()) < 1.1 * min(spread.values()), spread


def test_a_new_conversation_skips_a_server_over_its_share_and_an_old_one_stays():
    pool, _ = pool_with(dict.fromkeys(URLS, True))
    old = "conv-0"
    first, second = pool.ranking(old)[:2]
    assert route(pool, old) == first
    pool.in_flight[first] = 8  # 8 of 8 in flight on one server: over 1.25x the mean (ceil(1.25 x 9 / 4) = 3)
    new = next(f"n{i}" for i in range(1000) if pool.ranking(f"n{i}")[0] == first)
    assert route(pool, new) == pool.ranking(new)[1]  # the next server in its own ranking, not any server
    assert route(pool, old) == first  # a started conversation stays where its prefix is cached
    for url in URLS:
        pool.in_flight[url] = 1  # 1 each: ceil(1.25 x 5 / 4) = 2, so one more fits
    later = next(f"m{i}" for i in range(1000) if pool.ranking(f"m{i}")[0] == first)
    assert route(pool, later) == first  # within its share again


def test_a_dead_server_moves_only_its_conversations_and_they_stay_moved():
    clock = Clock()
    up = dict.fromkeys(URLS, True)
    pool, probed = pool_with(up, clock, cooldown_s=10)
    before = {f"c{i}": route(pool, f"c{i}") for i in range(400)}
    dead = URLS[0]
    pool.failed(dead, refused=True)
    up[dead] = False
    after = {c: route(pool, c) for c in before}
    assert all(after[c] == before[c] for c in before if before[c] != dead)  # the others' conversations stay put
    moved = {c: after[c] for c in before if before[c] == dead}
    assert moved and dead not in moved.values() and len(set(moved.values())) > 1  # spread over the rest
    assert probed == []  # within the cool-down nobody probes it
    clock.now = 11
    assert {c: route(pool, c) for c in moved} == moved and probed == []  # moved ones do not look back
    new = [f"n{i}" for i in range(1000) if pool.ranking(f"n{i}")[0] == dead]
    assert route(pool, new[0]) != dead
    assert probed == [dead] and not pool.live(dead)  # probed after the cool-down, still down: out again
    up[dead] = True
    clock.now = 11 + 19
    assert route(pool, new[1]) != dead and probed == [dead]  # a failed probe doubled the cool-down (20 s)
    clock.now = 11 + 21
    assert route(pool, new[2]) == dead and pool.live(dead)  # revived; new conversations go there again
    assert {c: route(pool, c) for c in moved} == moved  # the moved ones stay where their prefix is cached now


def test_a_failing_server_is_taken_out_after_fail_after_faults_in_a_row():
    pool, _ = pool_with(dict.fromkeys(URLS[:2], True), fail_after=3)
    for _ in range(2):
        pool.failed(URLS[0], refused=False)
    pool.succeeded(URLS[0])  # an answer in between resets the count
    for _ in range(2):
        pool.failed(URLS[0], refused=False)
    assert pool.live(URLS[0])
    pool.failed(URLS[0], refused=False)
    assert not pool.live(URLS[0])


def test_send_fails_over_at_once_retries_with_backoff_and_stops_when_all_are_gone():
    up = dict.fromkeys(URLS[:3], True)
    pool, _ = pool_with(up)
    sent = []

    async def attempt(url):
        sent.append(url)
        if not up[url]:
            raise ConnectionRefusedError(url)
        return f"reply from {url}"

    def classify(e):
        return Fault(server=True, refused=True) if isinstance(e, ConnectionRefusedError) else None

    first = pool.ranking("c")[0]
    up[first] = False
    reply, url = asyncio.run(pool.send("c", attempt, classify, max_retries=0, backoff_s=0, backoff_max_s=0))
    assert sent == [first, url] and url == pool.ranking("c")[1] and reply.endswith(url)  # no retry used up
    assert pool.requests[url] == 1 and pool.requests[first] == 0
    for u in up:
        up[u] = False
    with pytest.raises(ServersGone, match="every test server is down"):
        asyncio.run(pool.send("c", attempt, classify, max_retries=5, backoff_s=0, backoff_max_s=0))
    assert issubclass(ServersGone, UserError)  # one line from the command, exit 2


def test_a_teacher_server_down_at_the_start_is_left_out(capsys):
    from funreason.synth.teachers import make_teacher
    from funreason.synth.teachers.base import CONVERSATION

    dead = FakeOpenAIServer().start()
    dead_url = dead.base_url
    dead.stop()  # its port now refuses connections
    with FakeOpenAIServer(lambda e, r: "ok") as live:
        live_url = live.base_url
        teacher = make_teacher(fast_config(live_url, base_urls=[dead_url, live_url]))
        teacher.transport = "aiohttp"  # the proxy transport sends the session header too

        async def go():
            async def one(i):
                CONVERSATION.set(f"conv-{i}")  # this task's context, as the pipeline sets it per trajectory
                return await teacher.generate("querying", [{"role": "user", "content": "hi"}], {})

            try:
                return await asyncio.gather(*(one(i) for i in range(8)))
            finally:
                await teacher.aclose()

        assert asyncio.run(go()) == ["ok"] * 8
        assert sorted(live.sessions) == sorted(f"conv-{i}" for i in range(8))
    assert teacher.servers == {dead_url: 0, live_url: 8}
    assert "left out for now" in capsys.readouterr().out
    with pytest.raises(UserError, match="unreachable"):  # none answers: one line, as with one server
        make_teacher(fast_config(dead_url, base_urls=[dead_url], connect_timeout_s=1))


# --- synthesis over three servers ----------------------------------------------------------------------------
def _synth_config(urls: list[str], n: int = 12) -> SynthConfig:
    teacher = fast_config(urls[0], base_urls=urls, concurrency=6, timeout_s=5.0, server_cooldown_s=60)
    return SynthConfig(environments=["GorillaFileSystem", "MathAPI"], num_trajectories=n, teacher=teacher)


def _echo(endpoint, request):
    return request["fake_reply"]


def _synthesize(urls: list[str], out: Path, resume: bool = False) -> dict:
    config = _synth_config(urls)
    return run(config, out, seed=0, teacher=TemplateOverHTTP(config.teacher), progress=False, resume=resume)


def _servers_per_session(servers: list[FakeOpenAIServer]) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = {}
    for i, server in enumerate(servers):
        for session in server.sessions:
            seen.setdefault(session, set()).add(i)
    return seen


def _sticky(servers, dead: int) -> None:
    """Each conversation was served by one server, or by the killed one and then one other; some did move (the
    kill came mid-conversation)."""
    seen = _servers_per_session(servers)
    for session, used in seen.items():
        assert session is not None
        assert len(used) == 1 or (len(used) == 2 and dead in used), (session, used)
    assert any(len(used) == 2 for used in seen.values()), seen


class KillAndSlow:
    """Three servers answering with `reply`. The victim, the server that most of `conversations` go to first, is
    killed while it handles its `kill_at`-th request (that request is cut: its conversation must go on
    elsewhere); another one answers 5x slower from the `slow_at`-th request on (all servers counted)."""

    def __init__(self, reply, kill_at: int, slow_at: int):
        self.reply, self.kill_at, self.slow_at = reply, kill_at, slow_at
        self.servers: list[FakeOpenAIServer] = []
        self.lock, self.n, self.answered, self.killed = threading.Lock(), 0, Counter(), False
        self.victim = 0

    def respond(self, index: int, endpoint, request):
        with self.lock:
            self.n += 1
            if self.n == self.slow_at:
                self.servers[(self.victim + 1) % 3].latency *= 5
            self.answered[index] += 1
            kill = index == self.victim and self.answered[index] == self.kill_at
        if kill:
            self.servers[index].stop()  # cuts this request's connection too: the reply below goes nowhere
            self.killed = True
        return self.reply(endpoint, request)

    def start(self, latency: float, conversations: list[str]) -> list[str]:
        self.servers = [
            FakeOpenAIServer(lambda e, r, i=i: self.respond(i, e, r), latency=latency).start() for i in range(3)
        ]
        urls = [s.base_url for s in self.servers]
        pool, _ = pool_with(dict.fromkeys(urls, True))
        firsts = Counter(pool.ranking(c)[0] for c in conversations)
        self.victim = urls.index(firsts.most_common(1)[0][0])
        return urls


def test_synthesis_survives_a_killed_and_a_slowed_server(tmp_path):
    with FakeOpenAIServer(_echo, latency=0.005) as one:
        one_url = one.base_url
        single = _synthesize([one_url], tmp_path / "one")
    script = KillAndSlow(_echo, kill_at=6, slow_at=10)
    urls = script.start(latency=0.005, conversations=[f"synth-0-{i}" for i in range(12)])
    servers = script.servers
    try:
        many = _synthesize(urls, tmp_path / "three")
    finally:
        for s in servers:
            s.stop()
    assert script.killed, [len(s.requests) for s in servers]
    assert many["complete"] and single["complete"]
    assert many["accepted"] == single["accepted"] > 0
    records = (tmp_path / "three" / "trajectories.jsonl").read_text()
    assert records == (tmp_path / "one" / "trajectories.jsonl").read_text()  # same accepted trajectories, once each
    _sticky(servers, dead=script.victim)
    assert all(session.startswith("synth-0-") for session in _servers_per_session(servers))
    stats = json.loads((tmp_path / "three" / "stats.json").read_text())
    per_server = stats["teacher_servers"]
    assert set(per_server) == set(urls) and all(n > 0 for n in per_server.values())  # every server took a share
    assert sum(per_server.values()) == stats["teacher_requests"]
    one_stats = json.loads((tmp_path / "one" / "stats.json").read_text())
    assert one_stats["teacher_servers"] == {one_url: stats["teacher_requests"]}


def test_synthesis_stops_when_every_server_is_gone_and_resumes(tmp_path):
    with FakeOpenAIServer(_echo) as one:
        _synthesize([one.base_url], tmp_path / "one")
    state = {"n": 0}
    lock = threading.Lock()
    servers: list[FakeOpenAIServer] = []

    def dying(endpoint, request):
        with lock:
            state["n"] += 1
            dying_now = state["n"] == 90
        if dying_now:  # all at once, this request included (it is cut)
            for s in servers:
                s.stop()
        return _echo(endpoint, request)

    servers += [FakeOpenAIServer(dying).start() for _ in range(2)]
    urls = [s.base_url for s in servers]
    try:
        with pytest.raises(UserError, match="every synth.teacher server is down"):
            _synthesize(urls, tmp_path / "run")
    finally:
        for s in servers:
            s.stop()
    finished = len(read_entries(tmp_path / "run"))  # what was done before the stop is kept
    with FakeOpenAIServer(_echo) as a, FakeOpenAIServer(_echo) as b:  # back, on other ports
        resumed = _synthesize([a.base_url, b.base_url], tmp_path / "run", resume=True)
    assert resumed["complete"] and finished < 12 and resumed["synthesized_now"] == 12 - finished
    assert (tmp_path / "run" / "trajectories.jsonl").read_text() == (
        tmp_path / "one" / "trajectories.jsonl"
    ).read_text()


# --- eval over three servers -----------------------------------------------------------------------------------
class GroundTruthByPrompt:
    """Replies with BFCL's ground truth for the prompt the backend sent (a perfect model), whichever server."""

    def __init__(self, tasks):
        self.script = ground_truth_script(tasks.all_entries(), tasks.ground_truth["base"], "pythonic")
        self.requests = {}

    def backend(self, urls, **kw):
        prompts = self.requests

        class Recording(OpenAIBackend):
            def generate(self, requests):
                prompts.update({r.text: r for r in requests})
                return super().generate(requests)

        return Recording(urls, Sampling(), concurrency=6, max_retries=2, timeout=10, **kw)

    def __call__(self, endpoint, request):
        return self.script(self.requests[request["prompt"]])


def _evaluate(tokenizer, tasks, urls, out: Path, replies: GroundTruthByPrompt, resume=False):
    backend = replies.backend(urls, cooldown_s=60)
    try:
        runner = LockstepRunner(backend, tokenizer, ChatOptions(), in_flight=6, progress=False)
        stats = runner.run(tasks.entries, out, resume=resume)
    finally:
        backend.close()
    return stats, backend.describe()


def _rows(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in layout.result_path(out, "base").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "latency"} for r in rows]  # wall time differs run to run


def test_eval_survives_a_killed_and_a_slowed_server(tiny_tokenizer, tmp_path):
    tasks = load_tasks(["base"], limit=6)
    replies = GroundTruthByPrompt(tasks)
    with FakeOpenAIServer(replies, latency=0.005) as one:
        one_url = one.base_url
        _, single_meta = _evaluate(tiny_tokenizer, tasks, [one_url], tmp_path / "one", replies)
    script = KillAndSlow(replies, kill_at=3, slow_at=4)
    urls = script.start(latency=0.005, conversations=[e["id"] for e in tasks.all_entries()])
    servers = script.servers
    try:
        stats, meta = _evaluate(tiny_tokenizer, tasks, urls, tmp_path / "three", replies)
    finally:
        for s in servers:
            s.stop()
    assert script.killed, [len(s.requests) for s in servers]
    assert stats["errors"] == 0
    rows = _rows(tmp_path / "three")
    assert rows == _rows(tmp_path / "one")  # the same result rows, each entry once
    assert len({r["id"] for r in rows}) == len(rows) == 6
    _sticky(servers, dead=script.victim)
    assert set(_servers_per_session(servers)) == {r["id"] for r in rows}  # X-Session-ID is the entry id
    assert sum(meta["servers"].values()) == stats["steps"] and all(n > 0 for n in meta["servers"].values())
    assert meta["base_urls"] == urls and single_meta["servers"] == {one_url: stats["steps"]}


def test_eval_stops_when_every_server_is_gone_and_resumes(tiny_tokenizer, tmp_path):
    tasks = load_tasks(["base"], limit=6)
    replies = GroundTruthByPrompt(tasks)
    with FakeOpenAIServer(replies) as one:
        _evaluate(tiny_tokenizer, tasks, [one.base_url], tmp_path / "one", replies)
    server = FakeOpenAIServer(replies).start()
    url = server.base_url
    answered = {"n": 0}

    def then_die(endpoint, request):
        answered["n"] += 1
        if answered["n"] == 10:
            server.stop()  # this request is cut too
        return replies(endpoint, request)

    server.responder = then_die
    try:
        with pytest.raises(ServersGone, match="every eval openai server is down"):
            _evaluate(tiny_tokenizer, tasks, [url], tmp_path / "run", replies)
    finally:
        server.stop()
    written = layout.result_path(tmp_path / "run", "base")
    kept = len(written.read_text().splitlines()) if written.exists() else 0
    assert kept < 6  # the unfinished entries were not written (no error rows for them)
    with FakeOpenAIServer(replies) as back:
        stats, _ = _evaluate(tiny_tokenizer, tasks, [back.base_url], tmp_path / "run", replies, resume=True)
    assert stats["skipped_done"] == kept and _rows(tmp_path / "run") == _rows(tmp_path / "one")
