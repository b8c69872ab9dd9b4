"""One way to write a file that a kill never leaves half-written: write a temp file, fsync it, rename, fsync the dir.

    atomic_write_text(path, text)
    atomic_write_json(path, data)      # indent=2; values JSON can't hold become str()

A reader sees the old file or the new one, never a partial one (rename is atomic on POSIX); the directory fsync
makes the rename itself survive a power loss, not only a killed process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


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
        with tmp.open("w", encoding="utf-8") as f:
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
    return atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False, default=str) + "\n")
