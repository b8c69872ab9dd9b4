"""Collect the pending requests of every in-flight trajectory and run them as one batched generate call.

    batcher = Batcher(run_batch, window_ms=5, max_batch_size=256)   # run_batch(list[Request]) -> list[str]
    text = await batcher.submit(Request(role, messages))

In-process engines (vLLM, transformers) are fastest when fed many prompts at once, while the pipeline issues one
request at a time from each of many concurrent trajectories. The batcher waits `window_ms` after the first pending
request, then hands everything pending to `run_batch` in a worker thread (so the event loop keeps the other
trajectories moving) and resolves each caller's future with its text, or with the batch's exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Request:
    role: str
    messages: list[dict]


class Batcher:
    def __init__(self, run_batch: Callable[[list[Request]], list[str]], window_ms: float = 5.0, max_batch_size=256):
        self.run_batch = run_batch
        self.window_s = window_ms / 1000
        self.max_batch_size = max_batch_size
        self.batch_sizes: list[int] = []  # one entry per generate call (stats, tests)
        self._pending: list[tuple[Request, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    async def submit(self, request: Request) -> str:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(self.window_s)
            batch, self._pending = self._pending[: self.max_batch_size], self._pending[self.max_batch_size :]
            self.batch_sizes.append(len(batch))
            try:
                texts = await asyncio.to_thread(self.run_batch, [r for r, _ in batch])
                if len(texts) != len(batch):
                    raise RuntimeError(f"run_batch returned {len(texts)} texts for {len(batch)} requests")
            except asyncio.CancelledError:
                for _, future in batch + self._pending:
                    future.cancel()
                raise
            except Exception as e:  # every waiting trajectory must hear about it, not just the first
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            for (_, future), text in zip(batch, texts):
                if not future.done():
                    future.set_result(text)
