"""OpenAI-compatible backend: our rendered prompt text through POST /v1/completions, requests sent concurrently.

    backend = OpenAIBackend("http://localhost:8000/v1", Sampling(), concurrency=64)
    outs = backend.generate(requests)     # all requests of the tick in flight together (bounded by `concurrency`)

This is BFCL's OSS request path (`client.completions.create(prompt=<formatted prompt>)`): the server's chat
template and tool parser are never used, so the prompt is byte-for-byte what chat.render made. Retries with
exponential backoff on 429, 5xx and connection errors are the openai client's own (`max_retries`); a request that
still fails comes back with `error` set and the runner records that entry as an inference error.
"""

from __future__ import annotations

import asyncio
import threading
import time

import openai

from eval.backends import Generation, GenRequest, Sampling


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        sampling: Sampling,
        model: str | None = None,
        api_key: str = "EMPTY",
        concurrency: int = 32,
        timeout: float = 600.0,
        max_retries: int = 5,
    ):
        self.base_url = base_url
        self.sampling = sampling
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        # One event loop for the backend's life, so the client's connection pool is reused across ticks.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="openai-backend")
        self._thread.start()
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)
        self.model = model or self._run(self._first_model())

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _first_model(self) -> str:
        page = await self.client.models.list()
        if not page.data:
            raise RuntimeError(f"{self.base_url}/models lists no model; set eval.served_model")
        return page.data[0].id

    async def _one(self, sem: asyncio.Semaphore, r: GenRequest) -> Generation:
        kwargs = dict(
            model=self.model, prompt=r.text, max_tokens=r.max_new_tokens, temperature=self.sampling.temperature
        )
        if not self.sampling.greedy:
            kwargs["top_p"] = self.sampling.top_p
        if self.sampling.seed is not None:
            kwargs["seed"] = self.sampling.seed
        async with sem:
            t = time.perf_counter()
            try:
                resp = await self.client.completions.create(**kwargs)
                text = resp.choices[0].text or ""
            except Exception as e:  # the request failed for good (after the client's retries)
                return Generation("", len(r.ids), 0, time.perf_counter() - t, error=f"{type(e).__name__}: {e}")
            dt = time.perf_counter() - t
        usage = resp.usage
        prompt_tokens = usage.prompt_tokens if usage and usage.prompt_tokens is not None else len(r.ids)
        completion_tokens = usage.completion_tokens if usage and usage.completion_tokens is not None else 0
        return Generation(text, prompt_tokens, completion_tokens, dt)

    async def _all(self, requests: list[GenRequest]) -> list[Generation]:
        sem = asyncio.Semaphore(self.concurrency)
        return list(await asyncio.gather(*(self._one(sem, r) for r in requests)))

    def generate(self, requests: list[GenRequest]) -> list[Generation]:
        return self._run(self._all(requests))

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "base_url": self.base_url,
            "model": self.model,
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
            "seed": self.sampling.seed,
            "greedy": self.sampling.greedy,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
        }

    def close(self) -> None:
        try:
            self._run(self.client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
