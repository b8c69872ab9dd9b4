"""Synthesis in several processes on one machine (`synth.workers: N`); synth/pipeline.py calls this.

    job = ShardJob(shard, todo, out, config, seed, teacher, synthesize, synthesize_shard, concurrency, flush_every)
    run_in_workers(job, workers, count)

One Python process runs every trajectory's tool executions, prompt building and HTTP on one core, which caps it
near 100 trajectories/s on these machines however fast the teacher server is. Workers are forks of the calling
process (API graphs, BFCL modules and the teacher object are inherited, nothing is re-imported), each
synthesizing its own sub-shard with concurrency / workers trajectories in flight through the crash-safe
ShardWriter, so what they produce is exactly what one process would: shard (k, n) split W ways is the sub-shards
(k + n*w, n*W), whose indices together are those of (k, n). The parent only counts progress and reports errors.

A worker dies with its parent (PR_SET_PDEATHSIG on Linux: a killed run leaves no orphan writing into the run
directory), and a SIGTERM or SIGINT flushes what it finished before it exits. The stop is raised as
`StopRequested`, not SystemExit: the signal lands anywhere, often inside a tool call, where the dispatcher turns a
tool's own `sys.exit()` into an error result. A SystemExit was swallowed there, and the worker stored a trajectory
built on that false result (one kill-and-resume run in six of tests/synth/test_resume.py). A tool whose own code
swallows every exception cannot keep a stopped worker going either: after the stop, nothing more is stored.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue as queue_module
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.synth.writer import ShardWriter

PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 30.0  # how long a stopped worker may take to flush before it is killed


@dataclass(frozen=True)
class ShardJob:
    """One shard's synthesis, as `synth.pipeline.synthesize_shard` runs it: the indices still to make (`todo`, of
    `shard`), where they go, how each is made, and how many are in flight at once."""

    shard: tuple[int, int]
    todo: list[int]
    out: Path
    config: Any  # core.sections.synth.SynthConfig
    seed: int
    teacher: Any  # synth.teachers.base.Teacher
    synthesize: Callable  # synth.assembly.synthesize_trajectory or a test's stand-in
    # `synth.pipeline.synthesize_shard`, passed in so this module does not import the pipeline that calls it (fork
    # hands functions to the children as they are; nothing is pickled)
    run_shard: Callable
    concurrency: int
    flush_every: int = 32


def run_in_workers(job: ShardJob, workers: int, count: Callable[[bool], None]) -> None:
    """Synthesize `job` in `workers` forked processes, each a sub-shard of it; `count(accepted)` per finished one."""
    k, n = job.shard
    ctx = mp.get_context("fork")  # inherit the warm process; spawn would re-import BFCL and rebuild graphs per worker
    events = ctx.Queue()
    per_worker = max(1, -(-job.concurrency // workers))
    procs = []
    for w in range(workers):
        sub = (k + n * w, n * workers)
        mine = replace(job, shard=sub, todo=[i for i in job.todo if i % sub[1] == sub[0]], concurrency=per_worker)
        args = (w, mine, events, os.getpid())
        procs.append(ctx.Process(target=_worker, args=args, name=f"synth-worker-{w}", daemon=False))
    try:
        for p in procs:
            p.start()
        _collect(procs, events, count)
    finally:
        _stop(procs, events)


def _stop(procs, events) -> None:
    """End every worker: SIGTERM (it flushes what it finished), then SIGKILL for one still alive after
    STOP_GRACE_S, so a stuck worker can never hang the stage (its unflushed trajectories are redone on --resume)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    while any(p.is_alive() for p in procs):
        _drain(events)  # a worker exits only once its queued events are read
        for p in procs:
            p.join(timeout=0.05)
            if p.is_alive() and time.monotonic() > deadline:
                p.kill()


def _drain(events) -> None:
    try:
        while True:
            events.get_nowait()
    except queue_module.Empty:
        pass


def _collect(procs, events, count) -> None:
    running = len(procs)
    while running:
        try:
            event = events.get(timeout=0.5)
        except queue_module.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if not dead:
                continue
            try:  # a worker that failed put its error in the queue before exiting: read on to it
                event = events.get(timeout=2.0)
            except queue_module.Empty:
                raise RuntimeError(f"synthesis worker {dead[0].name} died (exit code {dead[0].exitcode})") from None
        kind = event[0]
        if kind == "done":
            count(event[1])
        elif kind == "exit":
            running -= 1
        elif kind == "error":
            _, name, user_facing, message = event
            raise (UserError if user_facing else RuntimeError)(f"synthesis worker {name}: {message}")


def _worker(w: int, job: ShardJob, events, parent: int) -> None:
    status = 0
    try:
        _die_with(parent)
        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)  # Ctrl-C reaches the whole process group
        writer = _StoppableWriter(job.out, job.shard, flush_every=job.flush_every)

        def done(accepted: bool) -> None:
            events.put(("done", accepted))

        job.run_shard(job.todo, job.config, job.seed, job.teacher, job.synthesize, writer, job.concurrency, done)
        events.put(("exit",))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        _ignore_stop_signals()  # see `finally`
        status = 1
        events.put(("error", f"synth-worker-{w}", isinstance(e, UserError), f"{type(e).__name__}: {e}"))
    finally:
        # The parent answers an error report with SIGTERM; a StopRequested raised inside the queue's close would leave
        # its feeder thread unwoken and the process joining it forever. The report is sent with both ignored.
        _ignore_stop_signals()
        try:
            if os.getppid() != parent:
                events.cancel_join_thread()  # the parent is gone: nobody will read, do not wait to hand events over
            events.close()
            events.join_thread()  # hand every event (an error report too) to the parent before the process ends
            sys.stdout.flush()
        finally:
            # Skip the parent's inherited atexit handlers and finalizers (tqdm, datasets' temp dirs): not ours.
            os._exit(status)


class StopRequested(BaseException):
    """A SIGTERM or SIGINT reached this worker. A BaseException outside SystemExit and Exception, so that the
    dispatcher, which turns a tool's own exceptions and `sys.exit()` into error results, lets it through."""


_stop_requested = False


def _request_stop(signum, frame):
    global _stop_requested
    _stop_requested = True
    raise StopRequested(f"stopped by {signal.Signals(signum).name}")


class _StoppableWriter(ShardWriter):
    """Stores nothing finished after a stop was requested: a trajectory in flight when the signal came may have
    been built on a tool call it interrupted (tool code with a bare `except:` swallows even StopRequested)."""

    def add(self, entry: dict) -> None:
        if _stop_requested:
            raise StopRequested(f"trajectory {entry['index']} finished after the stop; not stored")
        super().add(entry)


def _die_with(parent: int) -> None:
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: a worker outlives a killed parent until its work is done
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        raise StopRequested("the parent is gone")


def _ignore_stop_signals() -> None:
    # SIG_IGN, not a blocked mask: Python runs handlers in the main thread whichever thread the kernel picked, and
    # it skips a pending signal whose handler is no longer a Python function.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
