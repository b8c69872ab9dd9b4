"""Append-only, crash-safe storage of finished trajectories: what `--resume` and `--shard` stand on.

    writer = ShardWriter(out_dir, shard=(0, 1))
    done = writer.finished                    # indices already finished by any run or shard in out_dir
    writer.add({"index": 7, "record": {...} or None, "rejections": [...], "counters": {...}})
    writer.close()                            # flushes what is buffered
    entries = read_entries(out_dir)           # {index: entry}, every finished index exactly once

Layout: `<out>/shards/part-<i>of<n>-<seq>.jsonl`. Finished entries are buffered and flushed as a new part file:
written to `*.tmp`, fsynced, renamed (atomic on POSIX), then the directory is fsynced. A part file therefore
either exists complete or not at all, whenever the process is killed; `*.tmp` leftovers are ignored and removed.
The part files are the index of finished trajectory indices: an index is finished (accepted or rejected) exactly
when an entry for it is in a part file, so a resumed run schedules every other index and nothing is duplicated or
lost. Each shard process writes only its own part names, so shards can share one directory (also over NFS).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from funreason.core.atomic import atomic_write_text
from funreason.core.jsonl import JsonlError, iter_jsonl

PART_RE = re.compile(r"^part-(\d+)of(\d+)-(\d+)\.jsonl$")


def shards_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "shards"


def part_files(out_dir: str | Path) -> list[Path]:
    d = shards_dir(out_dir)
    return sorted(p for p in d.iterdir() if PART_RE.match(p.name)) if d.is_dir() else []


def read_entries(out_dir: str | Path) -> dict[int, dict]:
    """Every finished entry, keyed by trajectory index (first occurrence wins if a part was ever copied twice)."""
    entries: dict[int, dict] = {}
    for path in part_files(out_dir):
        try:
            for _, entry in iter_jsonl(path):
                entries.setdefault(int(entry["index"]), entry)
        except JsonlError as e:
            raise JsonlError(f"corrupt shard: {e}; move that file away") from None
    return entries


class ShardWriter:
    def __init__(self, out_dir: str | Path, shard: tuple[int, int] = (0, 1), flush_every: int = 32, flush_s=2.0):
        self.dir = shards_dir(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard = shard
        self.flush_every = flush_every
        self.flush_s = flush_s
        i, n = shard
        for tmp in self.dir.glob(f".part-{i}of{n}-*.tmp"):
            tmp.unlink()  # a flush cut short by a kill; its entries were never counted as finished
        self.finished = set(read_entries(out_dir))
        seqs = [int(m.group(3)) for p in part_files(out_dir) if (m := PART_RE.match(p.name))]
        self._seq = max(seqs, default=-1) + 1
        self._buffer: list[dict] = []
        self._last_flush = time.monotonic()

    def add(self, entry: dict) -> None:
        index = int(entry["index"])
        if index in self.finished:
            raise ValueError(f"trajectory {index} is already finished in {self.dir}")
        self.finished.add(index)
        self._buffer.append(entry)
        if len(self._buffer) >= self.flush_every or time.monotonic() - self._last_flush >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        i, n = self.shard
        name = f"part-{i}of{n}-{self._seq:06d}.jsonl"
        text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self._buffer)
        atomic_write_text(self.dir / name, text)
        self._seq += 1
        self._buffer = []

    def close(self) -> None:
        self.flush()
