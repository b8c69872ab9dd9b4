"""The one lockstep runner: every BFCL category kind (multi-turn, single-turn, agentic) as episodes batched together,
written as BFCL result files.

    from funreason.eval.runner import LockstepRunner
    runner = LockstepRunner(backend, tokenizer, chat_options, max_new_tokens=4096, max_context=40960, in_flight=64)
    stats = runner.run({"base": [...], "simple_python": [...], "memory_kv_prereq": [...], "memory_kv": [...]},
                       result_dir / "my_model", resume=True)
    # -> <model_dir>/<group>/BFCL_v4_<category>_result.json (eval/bfcl_layout.py), one JSON row per entry

Each category runs as the episode kind its name says (`bfcl_layout.kind_of`): a multi-turn entry
(eval/multi_turn.py, BFCL's multi-turn loop), a single-turn entry, an episode of one step (eval/single_run.py),
an agentic entry (eval/agentic_run.py: memory prerequisites, then questions). A flat list of entries is grouped by
the category their ids name.
Lockstep: every episode in flight advances together; each tick gathers the pending prompt of every active episode
and hands them to the backend as one batch. A prompt that does not fit the context, a request that fails for good,
or any exception while an entry starts or steps makes that entry an "Error during inference: ..." row (BFCL's
inference_error); the others go on. An entry whose `depends_on` names entries of this run starts once those have
rows (memory prerequisites, as BFCL schedules them).
One writer (eval/result_writer.py) per category, one resume rule (an entry is done when its row is in its file),
one progress bar, and one stats shape: entries, skipped_done, ticks, steps, errors, prompt/completion tokens,
max_batch, wall_s, and `kinds` (the same counts per episode kind).
"""

from __future__ import annotations

import time
import traceback
from collections import Counter, deque
from pathlib import Path

from funreason.eval import bfcl_layout as layout
from funreason.eval.agentic_run import AgenticEpisode
from funreason.eval.backends import Backend, GenRequest
from funreason.eval.episode import Episode
from funreason.eval.multi_turn import MultiTurnEpisode
from funreason.eval.result_writer import ResultWriter
from funreason.eval.single_run import SingleTurnEpisode
from funreason.eval.tasks import category_of
from tqdm.auto import tqdm

EPISODES: dict[str, type[Episode]] = {
    "multi_turn": MultiTurnEpisode,
    "single_turn": SingleTurnEpisode,
    "agentic": AgenticEpisode,
}
PER_KIND = ("entries", "skipped_done", "steps", "errors", "prompt_tokens", "completion_tokens")


class Schedule:
    """The entries still to start, in order; an entry waits until every id of its `depends_on` in this run is
    done (has a row)."""

    def __init__(self, entries: dict[str, list[dict]], done: set[str]):
        self.in_run = {e["id"] for es in entries.values() for e in es}
        self.done = set(done)
        self.ready: deque[tuple[str, dict]] = deque()
        self.waiting: dict[str, list[tuple[str, dict]]] = {}  # unfinished id -> entries waiting on it
        self.pending = 0
        for cat, es in entries.items():
            for e in es:
                if e["id"] in self.done:
                    continue
                self.pending += 1
                self._place((cat, e))

    def _place(self, item: tuple[str, dict]) -> None:
        """Ready, or waiting on its first unfinished dependency (one outside this run never holds it back)."""
        deps = item[1].get("depends_on", ())
        blocker = next((d for d in deps if d in self.in_run and d not in self.done), None)
        if blocker is None:
            self.ready.append(item)
        else:
            self.waiting.setdefault(blocker, []).append(item)

    def take(self) -> tuple[str, dict] | None:
        if not self.ready:
            return None
        self.pending -= 1
        return self.ready.popleft()

    def finished(self, entry_id: str) -> None:
        self.done.add(entry_id)
        for item in self.waiting.pop(entry_id, []):
            self._place(item)


class LockstepRunner:
    def __init__(
        self,
        backend: Backend,
        tokenizer,
        options,
        max_new_tokens: int = 4096,
        max_context: int | None = None,
        in_flight: int = 8,
        state_log: bool = True,
        progress: bool = True,
    ):
        self.backend = backend
        self.tokenizer = tokenizer
        self.options = options
        self.max_new_tokens = max_new_tokens
        self.max_context = max_context
        self.in_flight = max(1, in_flight)
        self.state_log = state_log
        self.progress = progress

    def _guard(self, ep: Episode, fn, *args):
        """BFCL turns any exception during one entry's inference into that entry's inference error."""
        try:
            return fn(*args)
        except Exception as e:
            ep.fail(f"{type(e).__name__}: {e}", traceback.format_exc())
            return None

    def run(
        self, entries: dict[str, list[dict]] | list[dict], model_result_dir: str | Path, resume: bool = False
    ) -> dict:
        """Run every entry (grouped by category, or a flat list) and write the category result files."""
        entries = _grouped(entries)
        model_result_dir = Path(model_result_dir)
        kinds = {cat: layout.kind_of(cat) for cat in entries}
        for kind in dict.fromkeys(kinds.values()):
            EPISODES[kind].begin(model_result_dir, [c for c in entries if kinds[c] == kind], resume)
        writers = {cat: ResultWriter(layout.result_path(model_result_dir, cat), resume) for cat in entries}
        done = {i for cat, es in entries.items() for i in {e["id"] for e in es} & set(writers[cat].rows)}
        schedule = Schedule(entries, done)
        remaining = Counter({cat: sum(e["id"] not in done for e in es) for cat, es in entries.items()})
        stats = _new_stats(entries, kinds, done)
        for cat in entries:
            if not remaining[cat]:
                writers[cat].finish()
        t0 = time.perf_counter()
        total = stats["entries"]
        bar = tqdm(total=total, initial=stats["skipped_done"], desc="eval", unit="entry", disable=not self.progress)

        def finish(ep: Episode) -> None:
            writers[ep.category].append(ep.row())
            schedule.finished(ep.id)
            _count(stats, kinds[ep.category], errors=ep.error is not None)
            bar.update(1)
            remaining[ep.category] -= 1
            if not remaining[ep.category]:
                writers[ep.category].finish()

        active: list[Episode] = []
        try:
            while schedule.pending or active:
                while len(active) < self.in_flight and (item := schedule.take()) is not None:
                    cat, entry = item
                    ep = EPISODES[kinds[cat]](entry, cat, self)
                    self._guard(ep, ep.start)  # a broken entry fails alone, as in BFCL
                    (finish if ep.done else active.append)(ep)
                if not active and schedule.pending:
                    raise RuntimeError(f"{schedule.pending} entries wait on entries that never finish (depends_on)")
                self._tick(active, kinds, stats)
                still = []
                for ep in active:
                    (finish if ep.done else still.append)(ep)
                active = still
        finally:
            bar.close()
        stats["wall_s"] = round(time.perf_counter() - t0, 3)
        return stats

    def _tick(self, active: list[Episode], kinds: dict[str, str], stats: dict) -> None:
        """One batch: the pending prompt of every active episode, generated together, each reply consumed."""
        batch: list[tuple[Episode, GenRequest]] = []
        for ep in active:
            req = self._guard(ep, ep.request)
            if req is not None:
                batch.append((ep, req))
        if not batch:
            return
        gens = self.backend.generate([req for _, req in batch])
        stats["ticks"] += 1
        stats["max_batch"] = max(stats["max_batch"], len(batch))
        for (ep, _), gen in zip(batch, gens):
            _count(stats, kinds[ep.category], steps=1, prompt_tokens=gen.prompt_tokens,
                   completion_tokens=gen.completion_tokens)  # fmt: skip
            self._guard(ep, ep.advance, gen)


def _grouped(entries: dict[str, list[dict]] | list[dict]) -> dict[str, list[dict]]:
    if not isinstance(entries, list):
        return entries
    grouped: dict[str, list[dict]] = {}
    for e in entries:
        grouped.setdefault(category_of(e["id"]), []).append(e)
    return grouped


def _new_stats(entries: dict[str, list[dict]], kinds: dict[str, str], done: set[str]) -> dict:
    stats: dict = {k: 0 for k in PER_KIND} | {"ticks": 0, "max_batch": 0}
    stats["kinds"] = {}
    for cat, es in entries.items():
        skipped = sum(e["id"] in done for e in es)
        _count(stats, kinds[cat], entries=len(es), skipped_done=skipped)
    return stats


def _count(stats: dict, kind: str, **counts: int) -> None:
    """Add `counts` to the totals and to the kind's own counts."""
    per_kind = stats["kinds"].setdefault(kind, dict.fromkeys(PER_KIND, 0))
    for key, n in counts.items():
        stats[key] += n
        per_kind[key] += n
