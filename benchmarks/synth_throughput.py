"""Synthesis throughput against an OpenAI-compatible server with a fixed latency: achieved vs ideal trajectories/s.

    .venv/bin/python benchmarks/synth_throughput.py                       # concurrency 64, 50 ms per request
    .venv/bin/python benchmarks/synth_throughput.py --concurrency 16 --trajectories 128

The pipeline runs with the `openai` teacher, over real HTTP, against `FakeOpenAIServer` in its own process (as a
real LLM server would be) answering every request after `--latency` seconds. To make trajectories complete, the
reply each request should get is computed by the template teacher on the client side and shipped in the request
(`fake_reply`), which the server echoes; the pipeline, the client and its connection pool do all their real work.

A trajectory's requests are sequential, so with `c` trajectories in flight the ideal rate is
c / (requests per trajectory × latency), with requests per trajectory measured in this run. The figure of merit is
achieved / ideal (target >= 0.8 at concurrency 64). A template-teacher run with no server is printed too: it is
the CPU cost of synthesis itself, the ceiling on this machine. Both runs also report this (client) process's CPU
time per trajectory, from the start of the run to the last finished trajectory (API graphs are built beforehand),
so the CPU cost can be compared across machines and loads: a run at concurrency c needs about
c / (requests/trajectory x latency) x CPU per trajectory cores to reach the ideal. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _serve(conn, latency: float) -> None:
    import http.server
    import socketserver

    from funreason.fake_openai import FakeOpenAIServer

    # This process only serves. Two stdlib knobs a real server has: a listen backlog for 64+ clients connecting at
    # once (the default of 5 drops SYNs: 1 s retransmits), and no Nagle delay between the header and body writes
    # (40 ms stalls against delayed ACKs on every keep-alive reply).
    http.server.ThreadingHTTPServer.request_queue_size = 1024
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True

    with FakeOpenAIServer(lambda endpoint, request: request["fake_reply"], latency=latency) as server:
        conn.send(server.base_url)
        conn.recv()  # block until the benchmark is done


def _scripted_teacher(config):
    from synth.teachers.openai_client import OpenAITeacher
    from synth.teachers.template import TemplateTeacher

    class ScriptedOpenAITeacher(OpenAITeacher):
        """The openai teacher, with the template teacher's answer attached for the fake server to echo."""

        def __init__(self, cfg):
            super().__init__(cfg)
            self.template = TemplateTeacher()
            self.name = "openai(template replies)"
            self.requests = 0

        async def generate(self, role, messages, payload):
            body = self.request_body(role, messages)
            body["fake_reply"] = await self.template.generate(role, messages, payload)
            self.requests += 1
            return await self.request(body)

    return ScriptedOpenAITeacher(config)


class CpuClock:
    """Wraps `synthesize_trajectory`: process CPU seconds from `start()` to the last finished trajectory."""

    def __init__(self):
        from synth.assembly import synthesize_trajectory

        self.inner, self.t0, self.t1 = synthesize_trajectory, 0.0, 0.0

    def start(self) -> CpuClock:
        self.t0 = self.t1 = time.process_time()
        return self

    async def __call__(self, *args, **kwargs):
        outcome = await self.inner(*args, **kwargs)
        self.t1 = time.process_time()
        return outcome

    def ms_per(self, n: int) -> float:
        return (self.t1 - self.t0) * 1000 / n


class CountingTeacher:
    def __init__(self, inner):
        self.inner, self.name, self.requests = inner, inner.name, 0

    async def generate(self, role, messages, payload):
        self.requests += 1
        return await self.inner.generate(role, messages, payload)

    async def aclose(self):
        await self.inner.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--trajectories", type=int, default=None, help="default: 8 x concurrency")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--environments", default="GorillaFileSystem,MathAPI")
    args = parser.parse_args(argv)
    n = args.trajectories or 8 * args.concurrency

    from synth.assembly import graph_for
    from synth.config import SynthConfig
    from synth.pipeline import run
    from synth.teacher_config import TeacherConfig
    from synth.teachers.template import TemplateTeacher
    from synth.trajectory import resolve_env

    envs = args.environments.split(",")
    parent, child = mp.Pipe()
    server = mp.get_context("fork").Process(target=_serve, args=(child, args.latency), daemon=True)
    server.start()
    base_url = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # CPU-only ceiling: the same trajectories with the in-process template teacher.
            cpu_teacher = CountingTeacher(TemplateTeacher())
            cfg = SynthConfig(environments=envs, num_trajectories=n)
            cfg.teacher.concurrency = args.concurrency
            for name in envs:  # probe the API graphs (memoised per process) outside the timed runs
                graph_for(resolve_env([name]), [name], cfg)
            cpu_clock = CpuClock().start()
            t = time.perf_counter()
            run(cfg, Path(tmp) / "cpu", seed=0, teacher=cpu_teacher, progress=False, synthesize=cpu_clock)
            cpu_s = time.perf_counter() - t

            teacher_cfg = TeacherConfig(
                kind="openai", base_url=base_url, model="fake-model", concurrency=args.concurrency, timeout_s=30
            )
            cfg = SynthConfig(environments=envs, num_trajectories=n, teacher=teacher_cfg)
            teacher = _scripted_teacher(teacher_cfg)
            http_clock = CpuClock().start()
            summary = run(cfg, Path(tmp) / "http", seed=0, teacher=teacher, progress=False, synthesize=http_clock)
            http_s = summary["seconds"]
    finally:
        parent.send("stop")
        server.join(timeout=5)
    # The server is this process's only child: once joined, its CPU time is what RUSAGE_CHILDREN reports.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_ms = (children.ru_utime + children.ru_stime) * 1000 / n

    per_traj = teacher.requests / n
    ideal = args.concurrency / (per_traj * args.latency)
    achieved = n / http_s
    print(f"trajectories          {n} ({summary['accepted']} accepted), environments {envs}")
    print(f"requests/trajectory   {per_traj:.2f} (retries {teacher.retries})")
    print(f"template, no server   {n / cpu_s:8.1f} traj/s  (CPU ceiling of this machine, {cpu_s:.1f} s)")
    print(f"openai @ {args.latency * 1000:.0f} ms, c={args.concurrency:<4d} {achieved:8.1f} traj/s  ({http_s:.1f} s)")
    print(f"ideal                 {ideal:8.1f} traj/s  = c / (requests/trajectory x latency)")
    print(f"client CPU/trajectory {cpu_clock.ms_per(n):8.1f} ms template, {http_clock.ms_per(n):.1f} ms openai")
    print(f"server CPU/trajectory {server_ms:8.1f} ms  (the fake server shares this machine's cores)")
    cores = ideal * (http_clock.ms_per(n) + server_ms) / 1000
    print(f"cores for the ideal   {cores:8.2f}  (ideal traj/s x (client + server) CPU/trajectory)")
    print(f"achieved / ideal      {achieved / ideal:.2f}  (target >= 0.8 at concurrency 64)")
    bound = min(ideal, n / cpu_s)
    print(f"achieved / min(ideal, CPU ceiling) {achieved / bound:.2f}  (what this machine's cores allow)")


if __name__ == "__main__":
    main()
