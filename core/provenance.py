"""How a result was made (invariant 5 of docs/design.md): versions, git commit, recipe, data hashes, time.

    from funreason.core.provenance import collect, Stopwatch
    meta = collect(recipe=recipe, data_files=envs.bfcl.data_files("multi_turn_base"), extra={"sampling": {...}})
    with Stopwatch() as sw:
        ...
    meta["wall_time_s"] = sw.seconds

Every report and every eval label's metadata.json carries one of these dicts.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import platform
import subprocess
import sys
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from funreason.core.schema import to_dict

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("funreason-mt", "bfcl-eval", "transformers", "trl", "vllm", "torch", "datasets", "accelerate", "peft")


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None where it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_info(repo: str | Path = REPO) -> dict[str, Any]:
    """`{"commit", "dirty"}` of the checkout that holds this code; None values when it is not a git checkout."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def recipe_dict(recipe: Any) -> dict | None:
    """A recipe (dataclass, mapping or plain object) as plain data."""
    if recipe is None:
        return None
    if dataclasses.is_dataclass(recipe):
        return to_dict(recipe)
    if isinstance(recipe, dict):
        return dict(recipe)
    return {k: v for k, v in vars(recipe).items() if not k.startswith("_")}


def collect(recipe: Any = None, data_files: Iterable[str | Path] = (), extra: dict | None = None) -> dict[str, Any]:
    """The provenance block: versions, git, python, platform, recipe, data-file SHA-256s, UTC timestamp."""
    info: dict[str, Any] = {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "packages": package_versions(),
        "git": git_info(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "recipe": recipe_dict(recipe),
        "data_files": {str(p): sha256_file(p) for p in data_files},
    }
    if extra:
        info.update(extra)
    return info


class Stopwatch:
    """`with Stopwatch() as sw: ...` then `sw.seconds` (wall time, monotonic clock)."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def count_tokens(tokenizer: Any, texts: Iterable[str]) -> int:
    """Total token count of `texts` under `tokenizer` (no special tokens added)."""
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
