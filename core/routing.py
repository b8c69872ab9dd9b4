"""Sticky routing of conversations over several OpenAI-compatible servers, surviving a dead one.

    pool = ServerPool(["http://a:8000/v1", "http://b:8000/v1"], probe=is_up, what="synth.teacher")
    text, url = await pool.send("traj-17", attempt, classify, max_retries=4, backoff_s=1.0, backoff_max_s=30.0)
    #   attempt(url) -> result: one request to that server, sent with {SESSION_HEADER: "traj-17"}
    #   classify(exc) -> Fault | None: what a failed attempt means (None: not a request failure, re-raised)
    pool.requests                                # Counter: requests answered, per server URL

Both HTTP clients use it: the synthesis teacher (synth/teachers/openai_client.py) and the eval `openai` backend
(eval/backends/openai.py). They speak HTTP; this module only decides where a request goes and what a failure does
to the server. It lives in core because synth and eval never import each other, and it imports nothing but
core.errors.

Routing. A conversation (a trajectory's requests, an eval entry's steps) ranks the servers by a stable hash of
(conversation id, URL) (rendezvous hashing; blake2b, not Python's per-process salted `hash()`). Its first request
goes to the first live server in that ranking that is not over its share of the load (consistent hashing with
bounded loads: at most ceil((1 + LOAD_SLACK) x the mean requests in flight per live server, counting this one);
with nothing in flight that is the first-ranked server), and every later request of the conversation goes to the same
server (it is remembered), whose prefix cache holds the conversation. A hash alone places a few hundred
conversations unevenly (one server getting 40% more than another is common), and the busiest server then sets the
run's length; the bound keeps that from happening and moves only what starts while a server is over its share.
When a conversation's server is out, the conversation moves to the next live one in its ranking and stays there
even after the first comes back: its prefix is cached on the second now. Every request also carries the id as
`X-Session-ID`, so a router with consistent hashing in front of several servers (one URL here) keeps the
conversation sticky too.

Failures. A refused or broken connection takes a server out at once, and the request is sent again at once to the
conversation's next live server without using up a retry: the request carries the whole conversation, so only
the cache is lost, and the reply is used once, so nothing reaches a dataset or result file twice. Other server
faults (5xx, timeouts, malformed bodies) take a server out after `fail_after` in a row, and are retried with
backoff as before. An out server is probed (`probe(url) -> bool`, e.g. GET /models) by the first request that
would go there once its cool-down (`cooldown_s`) is over; a failed probe doubles the cool-down (up to 8x). When no
server is live, every one is probed at once; if none answers, `ServersGone` (a UserError: the run stops with one
line, and resuming it later redoes only the unfinished work).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from funreason.core.errors import UserError

SESSION_HEADER = "X-Session-ID"
MAX_COOLDOWN_FACTOR = 8
LOAD_SLACK = 0.25  # a new conversation skips a server with more than 1.25x the mean requests in flight
REMEMBERED = 1 << 17  # conversations whose server is remembered (oldest forgotten first; far above any concurrency)

T = TypeVar("T")


class ServersGone(UserError):
    """Every server of the pool is out and none answered a probe."""


@dataclass(frozen=True)
class Fault:
    """What one failed attempt means. `server`: the server's fault (counts towards taking it out); `refused`: the
    connection failed (take it out now, fail over at once); `retry`: worth sending again; `retry_after`: seconds
    the server asked to wait."""

    server: bool
    refused: bool = False
    retry: bool = True
    retry_after: float | None = None


@dataclass
class _Server:
    url: str
    failures: int = 0  # server faults in a row
    down_until: float | None = None  # None: live
    cooldown: float = 0.0
    reason: str = ""  # the last failure, for the ServersGone line


def session_headers(conversation: str) -> dict[str, str]:
    return {SESSION_HEADER: "".join(ch for ch in conversation if ch.isprintable())}  # never a line break


class ServerPool:
    def __init__(
        self,
        urls: list[str],
        probe: Callable[[str], Awaitable[bool]],
        what: str = "server",
        cooldown_s: float = 30.0,
        fail_after: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not urls or len(set(urls)) != len(urls):
            raise ValueError(f"need distinct server URLs, got {urls}")
        self.urls = list(urls)
        self.probe = probe
        self.what = what
        self.cooldown_s = cooldown_s
        self.fail_after = max(1, fail_after)
        self.clock = clock
        self.requests: Counter = Counter({u: 0 for u in urls})  # answered requests per server
        self.in_flight: Counter = Counter({u: 0 for u in urls})  # requests sent and not yet answered, per server
        self._servers = {u: _Server(u) for u in urls}
        self._assigned: dict[str, str] = {}  # conversation -> its server (insertion order: oldest first)
        self._probing: set[str] = set()

    # --- where a conversation goes ---------------------------------------------------------------------------
    def ranking(self, conversation: str) -> list[str]:
        """The servers in this conversation's order of preference (the same in every process and run)."""
        if len(self.urls) == 1:
            return self.urls
        key = conversation.encode()
        return sorted(self.urls, key=lambda u: hashlib.blake2b(key + b"\0" + u.encode(), digest_size=8).digest())

    def live(self, url: str) -> bool:
        return self._servers[url].down_until is None

    async def server_for(self, conversation: str) -> str:
        """The server this conversation's next request goes to; ServersGone when none is live or revives."""
        assigned = self._assigned.get(conversation)
        if assigned is not None and self.live(assigned):
            return assigned
        ranking = self.ranking(conversation)
        candidates = [url for url in ranking if self.live(url) or await self._revive(url, due_only=True)]
        if not candidates:  # nothing live: probe every server now (waiting for probes other requests started)
            await asyncio.gather(*(self._revive(u, due_only=False) for u in ranking if u not in self._probing))
            while self._probing:
                await asyncio.sleep(0.02)
            candidates = [url for url in ranking if self.live(url)]
        if candidates:
            # Bounded loads: a new conversation takes the first candidate under its share; a moved one (its
            # server is out) takes the next live server in its ranking, whatever the load, as a failover should.
            share = math.ceil((1 + LOAD_SLACK) * (sum(self.in_flight[u] for u in candidates) + 1) / len(candidates))
            url = candidates[0]
            if assigned is None:
                url = next((u for u in candidates if self.in_flight[u] + 1 <= share), candidates[0])
            return self._assign(conversation, url)
        reasons = "; ".join(f"{s.url}: {s.reason or 'out'}" for s in self._servers.values())
        raise ServersGone(
            f"every {self.what} server is down ({reasons}); start one and resume the run (finished work is kept)"
        )

    def _assign(self, conversation: str, url: str) -> str:
        self._assigned.pop(conversation, None)
        self._assigned[conversation] = url
        if len(self._assigned) > REMEMBERED:
            del self._assigned[next(iter(self._assigned))]
        return url

    async def _revive(self, url: str, due_only: bool) -> bool:
        """Probe an out server (once its cool-down is over, or now); True if it is live again."""
        server = self._servers[url]
        if url in self._probing or (due_only and self.clock() < server.down_until):
            return False
        self._probing.add(url)
        try:
            try:
                ok = bool(await self.probe(url))
            except Exception as e:  # a probe that cannot even be made is a failed probe
                server.reason, ok = f"probe failed: {type(e).__name__}: {e}", False
        finally:
            self._probing.discard(url)
        if ok:
            server.down_until, server.failures, server.cooldown = None, 0, 0.0
        else:
            server.cooldown = min(server.cooldown * 2, self.cooldown_s * MAX_COOLDOWN_FACTOR)
            server.down_until = self.clock() + server.cooldown
        return ok

    # --- what an answer or a failure does ------------------------------------------------------------------------
    def succeeded(self, url: str) -> None:
        self._servers[url].failures = 0
        self.requests[url] += 1

    def failed(self, url: str, refused: bool, reason: str = "") -> None:
        """Count a server fault; take the server out when its connection failed or after `fail_after` in a row."""
        server = self._servers[url]
        server.failures += 1
        server.reason = reason or server.reason
        if server.down_until is None and (refused or server.failures >= self.fail_after):
            server.cooldown = max(server.cooldown, self.cooldown_s)
            server.down_until = self.clock() + server.cooldown

    def any_live(self) -> bool:
        return any(s.down_until is None for s in self._servers.values())

    # --- one request, routed, failed over and retried -----------------------------------------------------------
    async def send(
        self,
        conversation: str,
        attempt: Callable[[str], Awaitable[T]],
        classify: Callable[[BaseException], Fault | None],
        max_retries: int,
        backoff_s: float,
        backoff_max_s: float,
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> tuple[T, str]:
        """`attempt(url)` on the conversation's server until it answers: (result, url). A refused connection
        fails over to the next live server at once (at most once per server); other retryable faults wait an
        exponential backoff with jitter (honouring Retry-After) and count against `max_retries`; the last
        failure is re-raised."""
        retries = failovers = 0
        while True:
            url = await self.server_for(conversation)
            self.in_flight[url] += 1
            try:
                result = await attempt(url)
            except Exception as e:
                self.in_flight[url] -= 1
                fault = classify(e)
                if fault is None:
                    raise
                if fault.server:
                    self.failed(url, fault.refused, f"{type(e).__name__}: {e}"[:200])
                if fault.refused and failovers < len(self.urls) - 1 and self.any_live():
                    failovers += 1  # a dead server costs nothing: the conversation goes on elsewhere now
                    continue
                if not fault.retry or retries >= max_retries:
                    raise
                retries += 1
                if on_retry is not None:
                    on_retry(e)
                delay = min(backoff_max_s, backoff_s * 2 ** (retries - 1))
                delay *= random.uniform(0.5, 1.0)  # jitter: many conversations fail together when a server hiccups
                if fault.retry_after is not None:
                    delay = min(backoff_max_s, max(delay, fault.retry_after))
                await asyncio.sleep(delay)
                continue
            except BaseException:  # cancelled: no longer in flight
                self.in_flight[url] -= 1
                raise
            self.in_flight[url] -= 1
            self.succeeded(url)
            return result, url

    def describe(self) -> dict:
        """Per server: answered requests and whether it is live now (for stats and metadata)."""
        return {u: {"requests": self.requests[u], "live": self.live(u)} for u in self.urls}
