"""One way to write a file that a kill never leaves half-written: write a temp file, fsync it, rename, fsync the dir.

    atomic_write_text(path, text)
    atomic_write_json(path, data)      # indent=2; valid JSON whatever `data` holds (core.jsonl.json_text)

A reader sees the old file or the new one, never a partial one (rename is atomic on POSIX); the directory fsync
makes the rename itself survive a power loss, not only a killed process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from funreason.core.jsonl import json_text


def fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str, durable: bool = True) -> Path:
    """`durable=False` skips both fsyncs: still never torn (rename), but a power loss may keep the old file. For
    files derived from others and remade by rerunning (score files), where the fsyncs dominate the cost."""
    path = Path(path)
    # pid in the temp name: two processes writing the same file never share a temp file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # backslashreplace: a lone surrogate (half of an escaped emoji in a model's or a teacher's text) cannot be
        # UTF-8; it is written as "\\udXXX", its JSON escape, where failing would lose the whole file.
        with tmp.open("w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def atomic_write_json(path: str | Path, data: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json_text(data, indent=indent) + "\n")
