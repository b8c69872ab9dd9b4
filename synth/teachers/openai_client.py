"""A teacher served by any OpenAI-compatible server (vLLM, SGLang, an API), called asynchronously.

    from synth.teachers import make_teacher
    teacher = make_teacher(TeacherConfig(kind="openai", base_url="http://127.0.0.1:8000/v1"))
    text = await teacher.generate("querying", messages, payload)   # raises TeacherError(kind) for good failures
    await teacher.aclose()

We speak the `/chat/completions` wire format through httpx (the transport the `openai` SDK itself uses) rather
than through the SDK, because the pipeline needs three things the SDK hides: reading a body as a stream so an
oversized reply is refused without buffering it, a whole-request deadline that a trickling server cannot evade,
and one failure kind per request for the statistics (timeout, http_429, http_5xx, http_4xx, connection,
malformed, too_large, empty). Retries use exponential backoff with jitter and honour `Retry-After`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random

import httpx

from funreason.errors import UserError
from synth.teacher_config import TeacherConfig
from synth.teachers.base import Role, TeacherError

POOL_SIZE = 8  # connections per httpx client (see _pick_client)
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
        self._clients: list[httpx.AsyncClient] = []
        self._busy: list[int] = []
        self._tls = None
        self.retries = 0  # how many requests were retried (all causes); read by stats/benchmarks

    def _pick_client(self) -> int:
        # httpx's connection pool does work quadratic in its size on every request (scanning every connection for
        # every queued request): milliseconds of CPU per request at 64 connections. Several small pools, each
        # request going to the least busy one, keep the client's CPU per request flat. Pools are added as needed
        # and share one TLS context (building one costs tens of milliseconds).
        i = min(range(len(self._clients)), key=self._busy.__getitem__, default=-1)
        if i < 0 or self._busy[i] >= POOL_SIZE:
            c = self.config
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            self._clients.append(
                httpx.AsyncClient(
                    headers=_headers(c),
                    verify=self._tls,
                    timeout=httpx.Timeout(c.timeout_s, connect=c.connect_timeout_s),
                    limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
                )
            )
            self._busy.append(0)
            i = len(self._clients) - 1
        return i

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
        attempt = 0
        while True:
            retry_after = None
            try:
                async with self._semaphore:
                    return await self._once(body)
            except TeacherError as e:
                if e.kind not in RETRYABLE or attempt >= self.config.max_retries:
                    raise
                retry_after = getattr(e, "retry_after", None)
            attempt += 1
            self.retries += 1
            delay = min(self.config.backoff_max_s, self.config.backoff_s * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)  # jitter: many trajectories fail together when a server hiccups
            if retry_after is not None:
                delay = min(self.config.backoff_max_s, max(delay, retry_after))
            await asyncio.sleep(delay)

    async def _once(self, body: dict) -> str:
        i = self._pick_client()
        self._busy[i] += 1
        try:
            raw, status, headers = await asyncio.wait_for(self._post(self._clients[i], body), self.config.timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            raise TeacherError("timeout", f"no complete reply within {self.config.timeout_s} s") from None
        except httpx.TimeoutException as e:
            raise TeacherError("timeout", type(e).__name__) from None
        except httpx.HTTPError as e:
            raise TeacherError("connection", f"{type(e).__name__}: {e}") from None
        finally:
            if i < len(self._busy):  # aclose() may have dropped the pools meanwhile
                self._busy[i] -= 1
        if status != 200:
            kind = "http_429" if status == 429 else "http_5xx" if status >= 500 else "http_4xx"
            err = TeacherError(kind, f"HTTP {status}: {raw[:200].decode('utf-8', 'replace')}")
            try:
                err.retry_after = float(headers.get("retry-after"))
            except (TypeError, ValueError):
                err.retry_after = None
            raise err
        return parse_reply(raw)

    async def _post(self, client: httpx.AsyncClient, body: dict) -> tuple[bytes, int, httpx.Headers]:
        cap = self.config.max_response_bytes
        async with client.stream("POST", self._url, json=body) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise TeacherError("too_large", f"declared body {declared} bytes > cap {cap}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise TeacherError("too_large", f"body over cap {cap} bytes")
                chunks.append(chunk)
            return b"".join(chunks), response.status_code, response.headers

    async def aclose(self) -> None:
        clients, self._clients, self._busy = self._clients, [], []
        for client in clients:
            await client.aclose()


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
