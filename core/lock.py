"""One exclusive lock per stage output directory, so two processes never write the same run at once.

    from funreason.core.lock import stage_lock
    with stage_lock("runs/x/synth"):           # a second process gets LockedError naming the holder
        ...
    hold("runs/x/sft", "sft")                  # the same, until this process exits

The lock is `fcntl.flock` on `<dir>/.lock`, which the kernel releases when its holder dies however it dies (a
SIGKILL, a crash): a lock left by a dead process is simply taken over. The file holds the holder's pid, host,
start time and command line, for the message a second process prints.

A lock is held once per process tree: taking it again in the same process (funreason run holding `synth/` while
synth's own entry point asks for it) or in a child process started while it is held (the training script that
`funreason run` launches) succeeds at once without a second flock, since the holder is the caller's own run.
Children learn which locks their parent holds from the FUNREASON_HELD_LOCKS environment variable.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from funreason.core.errors import UserError

ENV = "FUNREASON_HELD_LOCKS"
LOCK_NAME = ".lock"
_held: dict[str, int] = {}  # resolved dir -> nesting depth in this process


class LockedError(UserError):
    """Another process holds the lock on an output directory."""


def _key(directory: str | Path, name: str = LOCK_NAME) -> str:
    key = str(Path(directory).resolve())
    return key if name == LOCK_NAME else f"{key}/{name}"


def _inherited() -> set[str]:
    return {p for p in os.environ.get(ENV, "").split(os.pathsep) if p}


def holder(directory: str | Path, name: str = LOCK_NAME) -> dict | None:
    """What the lock file says about its (last) holder, or None."""
    try:
        return json.loads((Path(directory) / name).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _describe(info: dict | None) -> str:
    if not info:
        return "another process"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    what = f"{info['what']}, " if info.get("what") else ""
    return f"{what}pid {info.get('pid')} on {info.get('host')} since {started} ({info.get('command', '?')})"


@contextmanager
def stage_lock(directory: str | Path, what: str = "", name: str = LOCK_NAME) -> Iterator[Path]:
    """Hold the exclusive lock on `directory` (created if missing) for the `with` block. `name` picks another lock
    file in it (one per synthesis shard: shards of one run share a dir, two copies of one shard must not).

    Raises LockedError (one line naming the holder) when another process tree holds it; never waits."""
    directory = Path(directory)
    key = _key(directory, name)
    if key in _held or key in _inherited():
        _held[key] = _held.get(key, 0) + 1
        try:
            yield directory
        finally:
            if _held.get(key, 0) > 1:
                _held[key] -= 1
            else:
                _held.pop(key, None)
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UserError(f"cannot lock {directory}: {e.strerror} ({directory / name})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            mine = f"; {what} cannot share it" if what else ""
            raise LockedError(
                f"{directory} is in use by {_describe(holder(directory, name))}; wait for it to finish or stop it{mine}"
            ) from None
        info = {
            "what": what,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": " ".join(sys.argv)[:500],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        _held[key] = 1
        previous = os.environ.get(ENV)
        os.environ[ENV] = os.pathsep.join(sorted(_inherited() | {key}))
        try:
            yield directory
        finally:
            _held.pop(key, None)
            if previous is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = previous
    finally:
        os.close(fd)  # releases the flock


def hold(directory: str | Path, what: str = "") -> None:
    """Take `stage_lock(directory)` for the rest of this process's life (the kernel drops it at exit): for scripts
    whose body is not one `with` block."""
    if _key(directory) in _held:
        return
    cm = stage_lock(directory, what)
    cm.__enter__()
    # Released by atexit, while this module still exists: a generator left for interpreter teardown would run
    # its `finally` after the module's globals are gone (and print an ignored AttributeError).
    atexit.register(cm.__exit__, None, None, None)
