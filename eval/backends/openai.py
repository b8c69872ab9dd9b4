"""OpenAI-compatible backend: our rendered prompt text through POST /v1/completions, requests sent concurrently.

    backend = OpenAIBackend("http://localhost:8000/v1", Sampling(), concurrency=64)
    backend = OpenAIBackend(["http://node1:8000/v1", "http://node2:8000/v1"], Sampling())   # several servers
    outs = backend.generate(requests)     # all requests of the tick in flight together (bounded by `concurrency`)

This is BFCL's OSS request path (`client.completions.create(prompt=<formatted prompt>)`): the server's chat
template and tool parser are never used, so the prompt is byte-for-byte what chat.render made.

Several servers: core/routing.py sends every step of one entry to the same server (stable hash of the entry id;
its prefix cache holds the entry's earlier steps), with the entry id in an `X-Session-ID` header; a server that
refuses connections is left out for a cool-down and the entry's step goes at once to its next server; a run whose
servers are all gone raises ServersGone (one line; `--resume` redoes only the unfinished entries). Retries with
exponential backoff on 429, 5xx, timeouts and connection errors are ours (`max_retries`), not the openai
client's, so a retry can go to another server; a request that still fails comes back with `error` set and the
runner records that entry as an inference error. `describe()["servers"]` counts the requests each server answered.
"""

from __future__ import annotations

import asyncio
import threading
import time

import openai
from funreason.core.errors import UserError
from funreason.core.routing import Fault, ServerPool, ServersGone, session_headers
from funreason.eval.backends import Generation, GenRequest, Sampling

PROBE_TIMEOUT_S = 10.0


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str | list[str],
        sampling: Sampling,
        model: str | None = None,
        api_key: str = "EMPTY",
        concurrency: int = 32,
        timeout: float = 600.0,
        max_retries: int = 5,
        cooldown_s: float = 30.0,
    ):
        self.base_urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.base_url = self.base_urls[0]
        self.sampling = sampling
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        # One event loop for the backend's life, so the clients' connection pools are reused across ticks.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="openai-backend")
        self._thread.start()
        # The clients do not retry: we do (ServerPool.send), so that a retry may go to another server.
        self.clients = {
            url: openai.AsyncOpenAI(base_url=url, api_key=api_key, timeout=timeout, max_retries=0)
            for url in self.base_urls
        }
        self.pool = ServerPool(self.base_urls, self._is_up, "eval openai", cooldown_s=cooldown_s)
        self.model = model or self._run(self._first_model())

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _list_models(self, url: str) -> list[str]:
        client = self.clients[url].with_options(timeout=PROBE_TIMEOUT_S)
        return [m.id for m in (await client.models.list()).data]

    async def _is_up(self, url: str) -> bool:
        try:
            await self._list_models(url)
        except openai.OpenAIError:
            return False
        return True

    async def _first_model(self) -> str:
        """The first model the first answering server lists; servers that do not answer start out of the pool."""
        for url in self.base_urls:
            try:
                models = await self._list_models(url)
            except openai.OpenAIError as e:
                self.pool.failed(url, refused=True, reason=f"{type(e).__name__}: {e}")
                continue
            if not models:
                raise UserError(f"{url}/models lists no model; set eval.served_model")
            return models[0]
        raise UserError(
            f"no eval server answers GET /models ({', '.join(self.base_urls)}); start one or fix eval.base_url"
        )

    async def _one(self, sem: asyncio.Semaphore, r: GenRequest) -> Generation:
        kwargs = dict(
            model=self.model, prompt=r.text, max_tokens=r.max_new_tokens, temperature=self.sampling.temperature
        )
        if not self.sampling.greedy:
            kwargs["top_p"] = self.sampling.top_p
        if self.sampling.seed is not None:
            kwargs["seed"] = self.sampling.seed
        entry = str(r.key[0])  # every step of one entry goes to one server
        kwargs["extra_headers"] = session_headers(entry)

        async def attempt(url: str):
            return await self.clients[url].completions.create(**kwargs)

        async with sem:
            t = time.perf_counter()
            try:
                resp, _ = await self.pool.send(entry, attempt, _fault, self.max_retries, 0.5, 8.0)
                text = resp.choices[0].text or ""
            except ServersGone:
                raise
            except Exception as e:  # the request failed for good (after retries)
                return Generation("", len(r.ids), 0, time.perf_counter() - t, error=f"{type(e).__name__}: {e}")
            dt = time.perf_counter() - t
        usage = resp.usage
        prompt_tokens = usage.prompt_tokens if usage and usage.prompt_tokens is not None else len(r.ids)
        completion_tokens = usage.completion_tokens if usage and usage.completion_tokens is not None else 0
        return Generation(text, prompt_tokens, completion_tokens, dt)

    async def _all(self, requests: list[GenRequest]) -> list[Generation]:
        sem = asyncio.Semaphore(self.concurrency)
        tasks = [asyncio.ensure_future(self._one(sem, r)) for r in requests]
        try:
            return list(await asyncio.gather(*tasks))
        finally:  # every server gone: stop the tick's other requests too (their entries are redone on --resume)
            for task in tasks:
                task.cancel()

    def generate(self, requests: list[GenRequest]) -> list[Generation]:
        return self._run(self._all(requests))

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "base_url": self.base_url,
            "base_urls": self.base_urls,
            "servers": dict(self.pool.requests),  # requests answered per server (this process)
            "model": self.model,
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
            "seed": self.sampling.seed,
            "greedy": self.sampling.greedy,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
        }

    def close(self) -> None:
        async def close_all():
            for client in self.clients.values():
                await client.close()

        try:
            self._run(close_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def _fault(e: BaseException) -> Fault | None:
    """What a failed request means for routing and retries (the openai client's own retry rules, plus which
    failures are the server's)."""
    if isinstance(e, openai.APITimeoutError):  # a subclass of APIConnectionError: slow, not gone
        return Fault(server=True)
    if isinstance(e, openai.APIConnectionError):
        return Fault(server=True, refused=True)
    if isinstance(e, openai.APIStatusError):
        status = e.status_code
        try:
            retry_after = float(e.response.headers.get("retry-after"))
        except (TypeError, ValueError):
            retry_after = None
        return Fault(server=status >= 500, retry=status >= 500 or status in (408, 409, 429), retry_after=retry_after)
    return None
