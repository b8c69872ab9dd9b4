"""Independent jobs in forked worker processes, largest first; results in the jobs' order.

    from funreason.core.parallel import run_jobs, usable_cpus
    results = run_jobs([lambda: score(a), lambda: score(b)], workers=usable_cpus(), costs=[size_a, size_b])

A job is a zero-argument callable. Workers are forks of the caller, so what a job's closure holds (entries,
ground truth, imported BFCL modules) is inherited, never pickled; only its result travels back (pickled). Jobs
are handed out largest `cost` first, each to the next free worker, which keeps the workers' loads even when one
job (BFCL's long-context file) outweighs the others. A job's exception is raised in the caller, as it would be
serially; a worker that dies (killed, segfault) raises RuntimeError instead of hanging the caller.

With one worker, one job, or no `fork` (not Linux/macOS) the jobs run in order in this process. Jobs run in the
worker's main thread, so `envs.dispatch`'s SIGALRM call timer works there as it does serially.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

_JOBS: Sequence[Callable[[], Any]] = ()  # the running batch: set before the pool forks, so workers inherit it


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and `taskset` narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS
        return max(1, os.cpu_count() or 1)


def _run(index: int) -> Any:
    return _JOBS[index]()


def run_jobs(
    jobs: Sequence[Callable[[], Any]],
    workers: int,
    costs: Sequence[float] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[Any]:
    """`[job() for job in jobs]`, computed by up to `workers` forked processes. `on_done(i)` is called in this
    process as job i finishes (a progress bar)."""
    global _JOBS
    workers = min(workers, len(jobs))
    if workers <= 1 or not hasattr(os, "fork"):
        results = []
        for i, job in enumerate(jobs):
            results.append(job())
            if on_done:
                on_done(i)
        return results
    order = sorted(range(len(jobs)), key=lambda i: -(costs[i] if costs else 0))
    results: list[Any] = [None] * len(jobs)
    _JOBS = jobs
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))
    try:
        futures = {pool.submit(_run, i): i for i in order}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                results[futures[future]] = future.result()  # re-raises the job's own exception
                if on_done:
                    on_done(futures[future])
    except BrokenProcessPool as e:
        raise RuntimeError(f"a worker process died while running jobs ({e})") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _JOBS = ()
    return results
