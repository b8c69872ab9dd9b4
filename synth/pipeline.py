"""Run synthesis: many trajectories in flight at once, finished ones stored crash-safely, outputs built at the end.

    from funreason.synth.pipeline import run
    summary = run(recipe.synth, "runs/x/synth", seed=0, resume=True, shard=(0, 1))

    funreason synth --config recipes/smoke.yaml [--resume] [--shard 0/4]     # the command (synth/cli.py)
    funreason run --config recipes/smoke.yaml --stages synth                 # as a stage: run_synth_stage

Trajectory `i` is `synth.assembly.synthesize_trajectory(i, config, seed, teacher)`; it depends only on
(i, seed, config) and the teacher's replies, never on scheduling, so a run can be split (`shard=(k, n)` takes the
indices i with i % n == k), interrupted and resumed (synth/writer.py) and still give the same outputs. A worker
pool keeps `concurrency` trajectories in flight; a teacher failure that escapes a trajectory is recorded as a
rejection of that trajectory (counted in stats), never fatal. Anything else (a bad recipe, an unknown environment,
a bug) stops the run after saving what finished.

When every index 0..num_trajectories-1 is finished (by this process or by other shards writing to the same
directory), the outputs are built from the shards, ordered by index:
`trajectories.jsonl`, `stats.json`, `stats.md`, and `dataset/` (datasets.load_from_disk; see synth/dataset.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from pathlib import Path

from funreason.core.atomic import atomic_write_text
from funreason.core.errors import UserError
from funreason.core.layout import RunLayout
from funreason.core.schema import to_dict
from funreason.envs.dispatch import set_default_limits, setting_tools_aside, take_timeout_counts
from funreason.envs.resolve import UnknownEnvironment, resolve_env
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.contamination import check_records
from funreason.synth.dataset import save_dataset
from funreason.synth.stats import SynthStats, tokenizer_counter
from funreason.synth.teachers import make_teacher
from funreason.synth.teachers.base import CONVERSATION, RETRIED, SERVED, Teacher, TeacherError
from funreason.synth.workers import ShardJob, run_in_workers
from funreason.synth.writer import ShardWriter, read_entries
from tqdm.auto import tqdm

# Keys that change how fast a run goes but not what it produces: they may differ between a run and its resume.
OPERATIONAL_KEYS = {
    *("base_url", "base_urls", "server_cooldown_s", "api_key_env"),  # transport: where the teacher is reached
    "concurrency",
    "timeout_s",
    "connect_timeout_s",
    "max_retries",
    "backoff_s",
    "backoff_max_s",
    "probe",
    "batch_window_ms",
    "max_batch_size",
    "num_trajectories",
    "workers",
}

Synthesize = Callable[..., Awaitable]


def _default_synthesize():
    return synthesize_trajectory


def _identity(config, seed: int) -> dict:
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in OPERATIONAL_KEYS}
        return node

    return {"seed": seed, "synth": strip(to_dict(config))}


def _check_identity(out: Path, config, seed: int) -> None:
    """Refuse to mix trajectories made with a different recipe or seed into one output directory."""
    path = out / "run.json"
    want = json.loads(json.dumps(_identity(config, seed)))
    if not path.is_file():
        atomic_write_text(path, json.dumps(want, indent=2) + "\n")
        return
    have = json.loads(path.read_text(encoding="utf-8"))
    if have != want:
        diff = sorted(_diff(have, want))
        raise UserError(
            f"{out} holds a synthesis run with different settings ({', '.join(diff[:5])}); "
            "use another --out or remove that directory"
        )


def _diff(a, b, prefix=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            yield from _diff(a.get(k), b.get(k), f"{prefix}{k}.")
    elif a != b:
        yield prefix.rstrip(".")


def preflight(config) -> None:
    """Fail before any work on what would fail every trajectory: an unknown environment."""
    if not config.environments:
        raise UserError("synth.environments is empty; name at least one environment")
    try:
        resolve_env(list(config.environments))
    except UnknownEnvironment as e:
        raise UserError(f"synth.environments: {e}") from None


def shard_indices(total: int, shard: tuple[int, int]) -> list[int]:
    k, n = shard
    return [i for i in range(total) if i % n == k]


def run(
    config,
    out_dir: str | Path,
    seed: int = 0,
    resume: bool = False,
    shard: tuple[int, int] = (0, 1),
    teacher: Teacher | None = None,
    progress: bool = True,
    synthesize: Synthesize | None = None,
    flush_every: int = 32,
    tokenizer: str | Path | None = None,
) -> dict:
    """Synthesize this shard's unfinished trajectories into `out_dir`; build the outputs once all are finished."""
    k, n = shard
    if not (n >= 1 and 0 <= k < n):
        raise UserError(f"--shard {k}/{n}: need 0 <= i < n")
    preflight(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_identity(out, config, seed)
    writer = ShardWriter(out, shard, flush_every=flush_every)
    mine = shard_indices(config.num_trajectories, shard)
    todo = [i for i in mine if i not in writer.finished]
    if len(todo) < len(mine) and not resume:
        raise UserError(
            f"{out} already has {len(mine) - len(todo)} finished trajectories of this shard; "
            "pass --resume to continue, or use another --out"
        )
    synthesize = synthesize or _default_synthesize()
    concurrency = config.teacher.concurrency
    workers = min(config.workers, len(todo))
    t0 = time.time()
    bar, tally, count = _progress(len(mine), len(mine) - len(todo), progress)
    teacher = teacher or make_teacher(config.teacher)  # made here even for workers: an unreachable server fails now
    try:
        if workers > 1:
            writer.close()
            job = ShardJob(
                shard, todo, out, config, seed, teacher, synthesize, synthesize_shard, concurrency, flush_every
            )
            run_in_workers(job, workers, count)
        else:
            synthesize_shard(todo, config, seed, teacher, synthesize, writer, concurrency, count)
    finally:
        bar.close()
    summary = {
        "out_dir": str(out),
        "shard": f"{k}/{n}",
        "teacher": getattr(teacher, "name", type(teacher).__name__),
        "synthesized_now": len(todo),
        "accepted_now": tally["accepted"],
        "seconds": round(time.time() - t0, 2),
    }
    entries = read_entries(out)
    missing = [i for i in range(config.num_trajectories) if i not in entries]
    summary["complete"] = not missing
    if missing:
        print(
            f"[synth] shard {k}/{n} done; {len(missing)} of {config.num_trajectories} trajectories are still to be "
            "made by other shards; the dataset is built by whichever run finishes last"
        )
        return summary
    summary.update(finalize(out, config, seed, entries, summary["teacher"], tokenizer))
    return summary


def _progress(total: int, initial: int, show: bool):
    """The progress bar, the accepted/rejected tally and `count(accepted)`, which updates both."""
    bar = tqdm(
        total=total,
        initial=initial,
        desc="synth",
        unit="traj",
        disable=not show,
        mininterval=0.5,
        dynamic_ncols=True,
    )
    tally = Counter()

    def count(accepted: bool) -> None:
        tally["accepted" if accepted else "rejected"] += 1
        bar.set_postfix(accepted=tally["accepted"], rejected=tally["rejected"], refresh=False)
        bar.update(1)

    return bar, tally, count


def synthesize_shard(todo, config, seed, teacher, synthesize, writer, concurrency, count) -> None:
    """Synthesize `todo` in this process into `writer`, `concurrency` trajectories in flight; `count(accepted)` is
    called once per finished trajectory. The writer is closed (flushed) and the teacher closed whatever happens:
    a teacher's connections belong to the event loop that made them, which ends here."""
    try:
        with _quiet_gc(), setting_tools_aside():  # a tool that keeps timing out is set aside for this run
            asyncio.run(_run_all(todo, config, seed, teacher, synthesize, writer, concurrency, count))
    finally:
        writer.close()


@contextmanager
def _quiet_gc():
    # Synthesis allocates many short-lived containers while the long-lived heap (BFCL modules, API graphs, value
    # pools, 64 trajectories' states) is large, so CPython's default collector spends ~15% of the run re-walking
    # that heap (benchmarks/synth_throughput.py). Freezing what exists now and collecting the young generation less
    # often keeps memory bounded (cycles are still collected) at a fraction of that cost.
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _run_all(todo, config, seed, teacher, synthesize, writer, concurrency, count) -> None:
    queue = deque(todo)

    async def worker():
        while queue:
            index = queue.popleft()
            retried, served = Counter(), Counter()
            token = RETRIED.set(retried)  # this task's context: the teacher counts this trajectory's retries here
            # ... and which server answered each request; its id routes all its requests to one server
            tokens = SERVED.set(served), CONVERSATION.set(f"synth-{seed}-{index}")
            try:
                outcome = await synthesize(index, config, seed, teacher)
                entry = {
                    "index": index,
                    "record": outcome.record,
                    "rejections": [list(r) for r in outcome.rejections],
                    "counters": dict(outcome.counters),
                }
            except TeacherError as e:  # a trajectory that let a teacher failure through: rejected, not fatal
                entry = {"index": index, "record": None, "rejections": [["teacher", e.kind]], "counters": {}}
            finally:
                RETRIED.reset(token)
                SERVED.reset(tokens[0])
                CONVERSATION.reset(tokens[1])
            for kind, n in retried.items():
                entry["counters"][f"teacher_retried:{kind}"] = n
            for url, n in served.items():
                entry["counters"][f"teacher_server:{url}"] = n
            entry["counters"].update(take_timeout_counts())  # this process's, since its last finished trajectory
            writer.add(entry)
            count(entry["record"] is not None)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(todo))))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await teacher.aclose()


def finalize(out: Path, config, seed: int, entries: dict[int, dict], teacher_name: str, tokenizer=None) -> dict:
    """Write trajectories.jsonl, stats.json/.md and dataset/ from all finished entries, ordered by index; tokens
    are counted with the tokenizer in `tokenizer` (the recipe's model directory) when it has one."""
    ordered = [entries[i] for i in sorted(entries) if i < config.num_trajectories]
    records = [e["record"] for e in ordered if e["record"] is not None]
    atomic_write_text(out / "trajectories.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    stats, markdown = compute_stats(ordered, records, config, seed, teacher_name, tokenizer)
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "stats.md", markdown)
    dataset = RunLayout.dataset_in(out)
    save_dataset(records, dataset)
    clean = "clean" if stats["contamination"]["clean"] else "NOT clean (overlaps BFCL test questions)"
    print(f"[synth] {len(records)} of {len(ordered)} trajectories accepted ({clean}); dataset at {dataset}")
    return {"accepted": len(records), "attempted": len(ordered), "dataset": str(dataset)}


def compute_stats(
    entries: list[dict], records: list[dict], config, seed: int, teacher: str, tokenizer=None
) -> tuple[dict, str]:
    """stats.json and stats.md content: synth.stats over every finished entry, the BFCL contamination check over
    the accepted queries, and how the run was made (a template-teacher run is labelled as the offline baseline)."""

    stats = SynthStats(count_tokens=tokenizer_counter(tokenizer))
    for e in entries:
        stats.add(_Outcome(e["record"], [tuple(r) for r in e["rejections"]], e["counters"]))
    contamination = check_records(records, n=config.contamination_ngram)
    run_info = {"seed": seed, "teacher": teacher, "template_baseline": teacher == "template"}
    data = {**stats.to_dict(contamination), "run": run_info}
    label = " (the offline template baseline)" if run_info["template_baseline"] else ""
    markdown = stats.to_markdown(contamination) + f"\nMade with seed {seed} and teacher `{teacher}`{label}.\n"
    return data, markdown


@dataclasses.dataclass
class _Outcome:
    record: dict | None
    rejections: list[tuple[str, str]]
    counters: dict


def run_synth_stage(recipe, resolved_recipe_path) -> dict:
    """`funreason run` entry point: synthesize into <run_dir>/synth, resuming whatever an earlier attempt left."""
    if recipe.synth is None:
        raise UserError(f"recipe {recipe.source} has no `synth:` section")
    set_default_limits(recipe.execution)  # every call synthesis executes (workers fork from here)
    return run(recipe.synth, RunLayout.of(recipe).synth_dir, seed=recipe.seed, resume=True, tokenizer=recipe.model)
