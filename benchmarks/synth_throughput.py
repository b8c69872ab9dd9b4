"""Synthesis throughput against an OpenAI-compatible server with a fixed latency: achieved vs ideal trajectories/s.

    .venv/bin/python benchmarks/synth_throughput.py                       # concurrency 64, 50 ms, workers = cores
    .venv/bin/python benchmarks/synth_throughput.py --concurrency 16 --trajectories 128 --workers 1
    .venv/bin/python benchmarks/synth_throughput.py --servers 4 --server-concurrency 4    # scale-out: 4 servers

The pipeline runs with the `openai` teacher, over real HTTP, against `FakeOpenAIServer` in its own process (as a
real LLM server would be) answering every request after `--latency` seconds. To make trajectories complete, the
reply each request should get is computed by the template teacher on the client side and shipped in the request
(`fake_reply`), which the server echoes; the pipeline, the client and its connection pool do all their real work.

A trajectory's requests are sequential, so with `c` trajectories in flight the ideal rate is
c / (requests per trajectory × latency), with requests per trajectory measured in this run. The figure of merit is
achieved / ideal (target >= 0.8 at concurrency 64), with `synth.workers` processes sharing the concurrency
(default: one per core; `--workers 1` shows what one process does). A template-teacher run with no server is
printed too: it is the CPU cost of synthesis itself, the ceiling on this machine. Both runs also report the
client's CPU time per trajectory (this process and its synthesis workers, over the whole run; API graphs are built
beforehand), and the server reports its own, so the CPU cost can be compared across machines and loads: a run at
concurrency c needs about c / (requests/trajectory x latency) x CPU per trajectory cores to reach the ideal.
Requests are counted by the server. Prints; asserts nothing.

`--servers N` runs N such servers (each its own process, the same latency, at most `--server-concurrency`
requests answered at once, the rest queued as in a vLLM server) behind `synth.teacher.base_urls`, each trajectory
routed to one of them by core/routing.py. The ideal is then min(c, N x cap) / (requests/trajectory x latency),
and the client's concurrency defaults to 2 x N x cap: trajectories are placed by a hash of their id, not by load,
so with exactly N x cap in flight a server often has fewer than cap of them while another queues. Requests per
server are printed as the servers counted them and as stats.json reports them, with the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # fake_openai, for the server process (which would otherwise die at import)


def _serve(conn, latency: float, cap: int | None = None) -> None:
    """An OpenAI-compatible server whose only cost is `latency`: aiohttp.web on one event loop, in its own process;
    with `cap`, at most that many requests are answered at once (the others wait, as in a server's queue).

    (tests.fake_openai's thread-per-connection stdlib server, which the tests use for its fault scripts, adds
    ~10% to every round trip at 64 connections and takes CPU from the client: it would measure itself.)"""
    import asyncio

    from aiohttp import web
    from fake_openai import completion_body

    served = 0
    slots = None

    async def chat(request: web.Request) -> web.Response:
        nonlocal served
        body = await request.json()
        served += 1
        if slots is None:
            await asyncio.sleep(latency)
        else:
            async with slots:
                await asyncio.sleep(latency)
        return web.json_response(completion_body("chat/completions", body, body["fake_reply"]))

    async def main() -> None:
        nonlocal slots
        slots = asyncio.Semaphore(cap) if cap else None  # made inside the loop it belongs to
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = runner.addresses[0][1]
        conn.send(f"http://127.0.0.1:{port}/v1")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until the benchmark is done
        conn.send((served, time.process_time()))
        await runner.cleanup()

    asyncio.run(main())


def _scripted_teacher(config):
    from funreason.synth.teachers.openai_client import OpenAITeacher
    from funreason.synth.teachers.template import TemplateTeacher

    class ScriptedOpenAITeacher(OpenAITeacher):
        """The openai teacher, with the template teacher's answer attached for the fake server to echo."""

        def __init__(self, cfg):
            super().__init__(cfg)
            self.template = TemplateTeacher()
            self.name = "openai(template replies)"

        async def generate(self, role, messages, payload):
            body = self.request_body(role, messages)
            body["fake_reply"] = await self.template.generate(role, messages, payload)
            return await self.request(body)

    return ScriptedOpenAITeacher(config)


class CpuClock:
    """CPU seconds of this process and of its children joined meanwhile (the synthesis workers)."""

    @staticmethod
    def now() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def __enter__(self) -> CpuClock:
        self.t0 = self.now()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = self.now() - self.t0


def start_servers(count: int, latency: float, cap: int | None) -> list[tuple]:
    """`count` fake servers, each in its own process: [(process, pipe, base_url)]."""
    servers = []
    for _ in range(count):
        parent, child = mp.Pipe()
        process = mp.get_context("fork").Process(target=_serve, args=(child, latency, cap), daemon=True)
        process.start()
        while not parent.poll(1.0):  # a server that died before answering is an error, not a hang
            if not process.is_alive():
                raise SystemExit(f"the fake server process exited with status {process.exitcode} before starting")
        servers.append((process, parent, parent.recv()))
    return servers


def stop_servers(servers: list[tuple]) -> list[tuple[int, float]]:
    """Stop them; (requests served, CPU seconds) of each."""
    out = []
    for process, pipe, _ in servers:
        pipe.send("stop")
        out.append(pipe.recv())
        process.join(timeout=5)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=None, help="default 64; with --servers 2 x N x cap")
    parser.add_argument("--trajectories", type=int, default=None, help="default: 8 x concurrency")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--environments", default="GorillaFileSystem,MathAPI")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="synth.workers (default: one per core)")
    parser.add_argument("--servers", type=int, default=0, help="N fake servers behind base_urls (0: one, uncapped)")
    parser.add_argument("--server-concurrency", type=int, default=4, help="with --servers: requests per server")
    args = parser.parse_args(argv)
    cap = args.server_concurrency if args.servers else None
    if args.concurrency is None:
        args.concurrency = 2 * args.servers * cap if args.servers else 64
    n = args.trajectories or 8 * args.concurrency

    from funreason.core.sections.synth import SynthConfig
    from funreason.core.sections.teacher import TeacherConfig
    from funreason.envs.resolve import resolve_env
    from funreason.synth.assembly import graph_for
    from funreason.synth.pipeline import run

    envs = args.environments.split(",")
    servers = start_servers(max(1, args.servers), args.latency, cap)
    urls = [url for _, _, url in servers]
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # CPU-only ceiling: the same trajectories with the in-process template teacher.
            cfg = SynthConfig(environments=envs, num_trajectories=n, workers=args.workers)
            cfg.teacher.concurrency = args.concurrency
            for name in envs:  # probe the API graphs (memoised per process, inherited by workers) before timing
                graph_for(resolve_env([name]), [name], cfg)
            with CpuClock() as cpu_clock:
                cpu_s = run(cfg, Path(tmp) / "cpu", seed=0, progress=False)["seconds"]

            teacher_cfg = TeacherConfig(
                kind="openai", base_url=urls[0], base_urls=urls, model="fake-model", concurrency=args.concurrency
            )
            teacher_cfg.timeout_s = 30
            cfg = SynthConfig(environments=envs, num_trajectories=n, teacher=teacher_cfg, workers=args.workers)
            with CpuClock() as http_clock:
                summary = run(cfg, Path(tmp) / "http", seed=0, teacher=_scripted_teacher(teacher_cfg), progress=False)
            http_s = summary["seconds"]
            reported = json.loads((Path(tmp) / "http" / "stats.json").read_text())["teacher_servers"]
    finally:
        counts = stop_servers(servers)
    load_after = os.getloadavg()
    requests, server_cpu_s = sum(r for r, _ in counts), sum(c for _, c in counts)

    per_traj = requests / n
    in_service = min(args.concurrency, len(urls) * cap) if cap else args.concurrency
    ideal = in_service / (per_traj * args.latency)
    achieved = n / http_s
    client_ms = {k: c.seconds * 1000 / n for k, c in (("template", cpu_clock), ("openai", http_clock))}
    server_ms = server_cpu_s * 1000 / n
    print(f"trajectories          {n} ({summary['accepted']} accepted), environments {envs}")
    print(
        f"workers               {args.workers} processes sharing concurrency {args.concurrency}, {os.cpu_count()} cores"
    )
    if cap:
        print(f"servers               {len(urls)}, each answering at most {cap} requests at once")
        for url, (served, _) in zip(urls, counts):
            print(f"  {url:<28s} {served:6d} requests (server count), {reported.get(url, 0):6d} in stats.json")
    print(f"load average          {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")
    print(f"requests/trajectory   {per_traj:.2f} (counted by the servers, retries included)")
    print(f"template, no server   {n / cpu_s:8.1f} traj/s  (CPU ceiling of this machine, {cpu_s:.1f} s)")
    print(f"openai @ {args.latency * 1000:.0f} ms, c={args.concurrency:<4d} {achieved:8.1f} traj/s  ({http_s:.1f} s)")
    if cap:
        print(f"ideal                 {ideal:8.1f} traj/s  = min(c, servers x cap) / (requests/trajectory x latency)")
    else:
        print(f"ideal                 {ideal:8.1f} traj/s  = c / (requests/trajectory x latency)")
    print(f"client CPU/trajectory {client_ms['template']:8.1f} ms template, {client_ms['openai']:.1f} ms openai")
    print(f"server CPU/trajectory {server_ms:8.1f} ms  (the fake servers share this machine's cores)")
    cores = ideal * (client_ms["openai"] + server_ms) / 1000
    print(f"cores for the ideal   {cores:8.2f}  (ideal traj/s x (client + server) CPU/trajectory)")
    target = "with 2 and 4 servers" if cap else "at concurrency 64"
    print(f"achieved / ideal      {achieved / ideal:.2f}  (target >= 0.8 {target})")
    bound = min(ideal, n / cpu_s)
    print(f"achieved / min(ideal, CPU ceiling) {achieved / bound:.2f}  (what this machine's cores allow)")


if __name__ == "__main__":
    main()
