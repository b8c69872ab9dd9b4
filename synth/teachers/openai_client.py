"""A teacher served by any OpenAI-compatible server (vLLM, SGLang, an API), called asynchronously.

    from synth.teachers import make_teacher
    teacher = make_teacher(TeacherConfig(kind="openai", base_url="http://127.0.0.1:8000/v1"))
    text = await teacher.generate("querying", messages, payload)   # raises TeacherError(kind) for good failures
    await teacher.aclose()

We speak the `/chat/completions` wire format ourselves rather than through the `openai` SDK, because the pipeline
needs three things the SDK hides: reading a body as a stream so an oversized reply is refused without buffering it,
a whole-request deadline that a trickling server cannot evade, and one failure kind per request for the statistics
(timeout, http_429, http_5xx, http_4xx, connection, malformed, too_large, empty). Retries use exponential backoff
with jitter and honour `Retry-After`.

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
import random
import urllib.parse
import urllib.request
from collections.abc import Mapping

import aiohttp
import httpx

from core.errors import UserError
from core.sections.teacher import TeacherConfig
from synth.teachers.base import Role, TeacherError, count_retry
from synth.teachers.http11 import BodyTooLarge, Http11Pool, HttpError

RETRYABLE = {"timeout", "http_429", "http_5xx", "connection", "malformed"}


def probe_server(config: TeacherConfig) -> str:
    """GET /models once; return the model to use. Raises UserError for an unreachable server or unknown model."""
    url = config.base_url.rstrip("/") + "/models"
    try:
        response = httpx.get(url, headers=_headers(config), timeout=config.connect_timeout_s)
    except httpx.HTTPError as e:
        raise UserError(
            f"teacher server {config.base_url} is unreachable ({type(e).__name__}: {e}); "
            "start it or fix synth.teacher.base_url"
        ) from None
    if response.status_code != 200:
        raise UserError(f"teacher server {config.base_url}: GET /models returned HTTP {response.status_code}")
    try:
        served = [m["id"] for m in response.json().get("data", [])]
    except (ValueError, AttributeError, KeyError, TypeError):
        raise UserError(f"teacher server {config.base_url}: GET /models did not return an OpenAI model list") from None
    wanted = {m for m in [config.model, *(r.model for r in config.roles.values())] if m}
    missing = sorted(m for m in wanted if served and m not in served)
    if missing:
        raise UserError(f"teacher server {config.base_url} does not serve {missing}; it serves {served}")
    if config.model:
        return config.model
    if not served:
        raise UserError(f"teacher server {config.base_url} lists no models; set synth.teacher.model")
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
    """Bounded-concurrency async client; `generate` returns the reply text or raises TeacherError."""

    def __init__(self, config: TeacherConfig, model: str | None = None):
        self.config = config
        self.model = model or config.model
        self.name = f"openai:{self.model}"
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._pool: Http11Pool | None = None
        # HTTP(S)_PROXY / NO_PROXY are honoured as httpx and the SDK do, but looked up once: aiohttp's trust_env
        # re-reads them and ~/.netrc in a worker thread on every request (a third of the client's CPU at c=64).
        self._proxy = _env_proxy(self._url)
        self.transport = "aiohttp" if self._proxy else "http11"  # see the module docstring
        self.retries = 0  # how many requests were retried (all causes); read by stats/benchmarks

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
        """POST one chat completion body, with retries; the reply text or TeacherError."""
        data = json.dumps(body).encode()
        attempt = 0
        while True:
            retry_after = None
            try:
                async with self._semaphore:
                    return await self._once(data)
            except TeacherError as e:
                if e.kind not in RETRYABLE or attempt >= self.config.max_retries:
                    raise
                retry_after = getattr(e, "retry_after", None)
                count_retry(e.kind)
            attempt += 1
            self.retries += 1
            delay = min(self.config.backoff_max_s, self.config.backoff_s * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)  # jitter: many trajectories fail together when a server hiccups
            if retry_after is not None:
                delay = min(self.config.backoff_max_s, max(delay, retry_after))
            await asyncio.sleep(delay)

    async def _once(self, data: bytes) -> str:
        try:
            # One deadline over connect, headers and the whole body: a server trickling bytes cannot evade it.
            async with asyncio.timeout(self.config.timeout_s):
                raw, status, headers = await self._post(data)
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

    async def _post(self, data: bytes) -> tuple[bytes, int, Mapping[str, str]]:
        cap = self.config.max_response_bytes
        if self.transport == "http11":
            if self._pool is None:  # made on first use: its connections belong to this event loop
                self._pool = Http11Pool(self._url, _headers(self.config), self.config.connect_timeout_s)
            status, headers, raw = await self._pool.post(data, cap)
            return raw, status, headers
        async with self._client().post(self._url, data=data, proxy=self._proxy) as response:
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
        pool, self._pool = self._pool, None
        if session is not None:
            await session.close()
        if pool is not None:
            await pool.close()


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
