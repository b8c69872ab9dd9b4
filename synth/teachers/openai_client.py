"""A teacher served by any OpenAI-compatible server (vLLM, SGLang, an API), called asynchronously.

    from funreason.synth.teachers import make_teacher
    teacher = make_teacher(TeacherConfig(kind="openai", base_url="http://127.0.0.1:8000/v1"))   # or base_urls=[...]
    text = await teacher.generate("querying", messages, payload)   # raises TeacherError(kind) for good failures
    await teacher.aclose()

We speak the `/chat/completions` wire format ourselves rather than through the `openai` SDK, because the pipeline
needs three things the SDK hides: reading a body as a stream so an oversized reply is refused without buffering it,
a whole-request deadline that a trickling server cannot evade, and one failure kind per request for the statistics
(timeout, http_429, http_5xx, http_4xx, connection, malformed, too_large, empty). Retries use exponential backoff
with jitter and honour `Retry-After`. Several servers: core/routing.py sends each trajectory to one of them
(`synth.pipeline` names the trajectory in `CONVERSATION`), carries its id in `X-Session-ID`, and moves it to
another server at once when its server refuses connections (docs/serving.md).

Transport: against a fast server the client's one Python thread bounds synthesis throughput
(benchmarks/synth_throughput.py), and per request httpx (the SDK's transport) costs ~1 ms of CPU at 64 in flight,
aiohttp ~0.3 ms, our keep-alive HTTP/1.1 client (synth/teachers/http11.py) ~0.14 ms. So requests go through the
latter, except when an HTTP(S)_PROXY applies to the server, where aiohttp speaks the proxy. The one-off `/models`
probe stays on httpx: it is synchronous and not on the hot path.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping

import aiohttp
import httpx
from funreason.core.errors import UserError
from funreason.core.routing import Fault, ServerPool, session_headers
from funreason.core.sections.teacher import TeacherConfig
from funreason.synth.teachers.base import CONVERSATION, Role, TeacherError, count_retry, count_served
from funreason.synth.teachers.http11 import BodyTooLarge, Http11Pool, HttpError

RETRYABLE = {"timeout", "http_429", "http_5xx", "connection", "malformed"}


def probe_server(config: TeacherConfig) -> tuple[str, list[str]]:
    """GET /models of every server once: (the model to use, the servers that did not answer). Raises UserError
    when none answers or one does not serve the recipe's models. A server that is down at the start is left out
    for a cool-down and probed again later, as one that dies mid-run."""
    model, down, errors = None, [], []
    for base_url in config.urls():
        try:
            served = _served_models(config, base_url)
        except _Unreachable as e:
            down.append(base_url)
            errors.append(str(e))
            continue
        model = model or _model_to_use(config, base_url, served)
    if model is None:
        key = "synth.teacher.base_urls" if config.base_urls else "synth.teacher.base_url"
        raise UserError(f"{'; '.join(errors)}; start it or fix {key}")
    for line in errors:
        print(f"[synth] {line}; left out for now, probed again in {config.server_cooldown_s:g} s")
    return model, down


class _Unreachable(Exception):
    pass


def _served_models(config: TeacherConfig, base_url: str) -> list[str]:
    url = base_url.rstrip("/") + "/models"
    try:
        response = httpx.get(url, headers=_headers(config), timeout=config.connect_timeout_s)
    except httpx.HTTPError as e:
        raise _Unreachable(f"teacher server {base_url} is unreachable ({type(e).__name__}: {e})") from None
    if response.status_code != 200:
        raise UserError(f"teacher server {base_url}: GET /models returned HTTP {response.status_code}")
    try:
        return [m["id"] for m in response.json().get("data", [])]
    except (ValueError, AttributeError, KeyError, TypeError):
        raise UserError(f"teacher server {base_url}: GET /models did not return an OpenAI model list") from None


def _model_to_use(config: TeacherConfig, base_url: str, served: list[str]) -> str:
    wanted = {m for m in [config.model, *(r.model for r in config.roles.values())] if m}
    missing = sorted(m for m in wanted if served and m not in served)
    if missing:
        raise UserError(f"teacher server {base_url} does not serve {missing}; it serves {served}")
    if config.model:
        return config.model
    if not served:
        raise UserError(f"teacher server {base_url} lists no models; set synth.teacher.model")
    return served[0]


def _env_proxy(url: str) -> str | None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(urllib.parse.urlsplit(url).scheme)


def _headers(config: TeacherConfig) -> dict:
    key = os.environ.get(config.api_key_env)
    return {"Authorization": f"Bearer {key}"} if key else {}


class OpenAITeacher:
    """Bounded-concurrency async client; `generate` returns the reply text or raises TeacherError.

    With several servers (`base_urls`) each trajectory's requests go to one of them (core/routing.py: stable hash
    of the trajectory's id, X-Session-ID header, a dead server's trajectories go on elsewhere); `servers` counts
    the requests each one answered, and so does each trajectory's `teacher_server:<url>` counter."""

    def __init__(self, config: TeacherConfig, model: str | None = None, down: list[str] = ()):
        self.config = config
        self.model = model or config.model
        self.name = f"openai:{self.model}"
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._pools: dict[str, Http11Pool] = {}
        self.pool = ServerPool(config.urls(), self._is_up, "synth.teacher", cooldown_s=config.server_cooldown_s)
        for url in down:  # found down by the start-up probe
            self.pool.failed(url, refused=True, reason="unreachable at start")
        # HTTP(S)_PROXY / NO_PROXY are honoured as httpx and the SDK do, but looked up once: aiohttp's trust_env
        # re-reads them and ~/.netrc in a worker thread on every request (a third of the client's CPU at c=64).
        self._proxies = {url: _env_proxy(url) for url in config.urls()}
        self.transport = "aiohttp" if any(self._proxies.values()) else "http11"  # see the module docstring
        self.retries = 0  # how many requests were retried (all causes); read by stats/benchmarks

    @property
    def servers(self) -> dict[str, int]:
        """Requests answered per server URL (this process)."""
        return dict(self.pool.requests)

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the event loop it was created in.
        if self._session is None or self._session.closed:
            c = self.config
            self._session = aiohttp.ClientSession(
                headers={"Content-Type": "application/json", **_headers(c)},
                connector=aiohttp.TCPConnector(limit=c.concurrency, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=c.connect_timeout_s),
            )
        return self._session

    def request_body(self, role: Role, messages: list[dict]) -> dict:
        s = self.config.settings_for(role)
        return {
            "model": s.model or self.model,
            "messages": messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
        }

    async def generate(self, role: Role, messages: list[dict], payload: dict) -> str:
        return await self.request(self.request_body(role, messages))

    async def request(self, body: dict) -> str:
        """POST one chat completion body to the trajectory's server, with retries; the reply text or TeacherError."""
        data = json.dumps(body).encode()
        conversation = CONVERSATION.get() or _task_name()

        async def attempt(url: str) -> str:
            async with self._semaphore:
                return await self._once(url, data, conversation)

        def retried(e: BaseException) -> None:
            self.retries += 1
            count_retry(e.kind)

        c = self.config
        text, url = await self.pool.send(
            conversation, attempt, _fault, c.max_retries, c.backoff_s, c.backoff_max_s, on_retry=retried
        )
        count_served(url)
        return text

    async def _is_up(self, base_url: str) -> bool:
        """The cool-down probe of a server left out: does GET /models answer 200?"""
        async with httpx.AsyncClient(timeout=self.config.connect_timeout_s) as client:
            try:
                response = await client.get(base_url.rstrip("/") + "/models", headers=_headers(self.config))
            except httpx.HTTPError:
                return False
        return response.status_code == 200

    async def _once(self, base_url: str, data: bytes, conversation: str) -> str:
        try:
            # One deadline over connect, headers and the whole body: a server trickling bytes cannot evade it.
            async with asyncio.timeout(self.config.timeout_s):
                raw, status, headers = await self._post(base_url, data, conversation)
        except TimeoutError:
            raise TeacherError("timeout", f"no complete reply within {self.config.timeout_s} s") from None
        except BodyTooLarge as e:
            raise TeacherError("too_large", str(e)) from None
        except (aiohttp.ClientError, HttpError, OSError) as e:
            raise TeacherError("connection", f"{type(e).__name__}: {e}") from None
        if status != 200:
            kind = "http_429" if status == 429 else "http_5xx" if status >= 500 else "http_4xx"
            err = TeacherError(kind, f"HTTP {status}: {raw[:200].decode('utf-8', 'replace')}")
            try:
                err.retry_after = float(headers.get("retry-after"))
            except (TypeError, ValueError):
                err.retry_after = None
            raise err
        return parse_reply(raw)

    async def _post(self, base_url: str, data: bytes, conversation: str) -> tuple[bytes, int, Mapping[str, str]]:
        cap = self.config.max_response_bytes
        url = base_url.rstrip("/") + "/chat/completions"
        if self.transport == "http11":
            pool = self._pools.get(base_url)
            if pool is None:  # made on first use: its connections belong to this event loop
                pool = self._pools[base_url] = Http11Pool(url, _headers(self.config), self.config.connect_timeout_s)
            status, headers, raw = await pool.post(data, cap, session_headers(conversation))
            return raw, status, headers
        session = self._client()
        async with session.post(
            url, data=data, proxy=self._proxies.get(base_url), headers=session_headers(conversation)
        ) as response:
            try:
                declared = response.content_length
                if declared is not None and declared > cap:
                    raise TeacherError("too_large", f"declared body {declared} bytes > cap {cap}")
                if declared is not None:  # the usual case: one read of a body known to fit
                    return await response.read(), response.status, response.headers
                chunks, size = [], 0
                async for chunk in response.content.iter_any():
                    size += len(chunk)
                    if size > cap:
                        raise TeacherError("too_large", f"body over cap {cap} bytes")
                    chunks.append(chunk)
            except TeacherError:
                response.close()  # drop the connection rather than drain an oversized body into the pool
                raise
            return b"".join(chunks), response.status, response.headers

    async def aclose(self) -> None:
        session, self._session = self._session, None
        pools, self._pools = self._pools, {}
        if session is not None:
            await session.close()
        for pool in pools.values():
            await pool.close()


# Teacher faults that are the server's (count towards taking it out) and those worth a retry.
SERVER_FAULTS = {"timeout", "http_5xx", "connection", "malformed"}


def _fault(e: BaseException) -> Fault | None:
    if not isinstance(e, TeacherError):
        return None
    return Fault(
        server=e.kind in SERVER_FAULTS,
        refused=e.kind == "connection",
        retry=e.kind in RETRYABLE,
        retry_after=getattr(e, "retry_after", None),
    )


def _task_name() -> str:
    """A conversation id for requests made outside the pipeline (which names each trajectory): the asyncio task."""
    task = asyncio.current_task()
    return task.get_name() if task is not None else "main"


def parse_reply(raw: bytes) -> str:
    """The assistant text of a chat completion body; a split-off reasoning part is put back as `<think>`."""
    try:
        data = json.loads(raw)
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise TeacherError("malformed", f"not a chat completion: {raw[:120]!r}") from None
    if not isinstance(message, dict):
        raise TeacherError("malformed", "choices[0].message is not an object")
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    if not isinstance(content, str) or not isinstance(reasoning, str):
        raise TeacherError("malformed", "message content is not a string")
    if reasoning and "<think>" not in content:
        # Servers run with a reasoning parser split the chain off; the reasoning agent's output format wants it.
        content = f"<think>\n{reasoning.strip()}\n</think>\n\n{content}"
    if not content.strip():
        raise TeacherError("empty", "the teacher returned an empty reply")
    return content
