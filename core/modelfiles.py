"""Is a model or checkpoint directory whole? Cheap checks of weights files, and one-line errors when loading fails.

    weights_problem("runs/x/sft/checkpoint-24")   # None, or why it cannot be loaded ("model.safetensors: truncated")
    with loading("runs/x/sft/final", "model"):    # corrupt config.json, truncated weights... -> one UserError line
        model = AutoModelForCausalLM.from_pretrained(...)
    check_tokenizer_files("runs/x/sft/final")     # transformers builds an EMPTY tokenizer from a dir without them
    require_model_dir(recipe.model)               # the one "is this a local model dir" check (config.json readable)

The checks read file headers and sizes only (a safetensors file names the byte range of every tensor in its header;
a torch `.pt`/`.bin` file is a zip whose directory sits at its end), so checking a multi-GB checkpoint is instant.
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from funreason.core.errors import UserError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
_TORCH_SUFFIXES = (".bin", ".pt", ".pth")


def safetensors_problem(path: Path) -> str | None:
    """None when the header parses and the file is exactly as long as the tensors it declares."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return "truncated (no header)"
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > 100_000_000:
                return "truncated or corrupt header"
            header = json.loads(f.read(n))
    except (OSError, ValueError) as e:
        return f"unreadable header ({e.__class__.__name__})"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)]
    expected = 8 + n + max(ends, default=0)
    if size < expected:
        return f"truncated ({size} of {expected} bytes)"
    return None


def torch_file_problem(path: Path) -> str | None:
    """torch.save writes a zip (its directory is at the end, so a truncated file is not a zip)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                z.infolist()
            return None
        with path.open("rb") as f:
            first = f.read(1)
    except (OSError, zipfile.BadZipFile) as e:
        return f"unreadable ({e.__class__.__name__})"
    return None if first == b"\x80" else "truncated or corrupt (not a torch zip)"  # \x80: a legacy pickle


def weights_problem(directory: str | Path) -> str | None:
    """None when `directory` holds weights and every weights file in it (recursively) is whole; else the reason."""
    directory = Path(directory)
    found = False
    for index in directory.glob("*.index.json"):
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError):
            return f"{index.name}: unreadable"
        missing = sorted(s for s in shards if not (directory / s).is_file())
        if missing:
            return f"{index.name}: shard {missing[0]} is missing"
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            if path.is_dir() and path.name.startswith(("global_step", "pytorch_model_fsdp")):
                found = True  # DeepSpeed / FSDP sharded states (their files are checked as they are found)
            continue
        if path.suffix == ".safetensors":
            problem = safetensors_problem(path)
        elif path.suffix in _TORCH_SUFFIXES:
            problem = torch_file_problem(path)
        else:
            continue
        if problem:
            return f"{path.relative_to(directory)}: {problem}"
        found = True
    return None if found else "no weights file"


def check_tokenizer_files(directory: str | Path) -> None:
    directory = Path(directory)
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(
            f"{directory} has no tokenizer (none of {', '.join(TOKENIZER_FILES)}); save the tokenizer with the model"
        )


@contextmanager
def loading(path: str | Path, what: str = "model") -> Iterator[None]:
    """Turn what a broken model directory raises while loading (a corrupt config.json, truncated weights, a bad
    tokenizer file) into one UserError naming the directory; the check of its weights says which file is at fault."""
    try:
        yield
    except UserError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError) as e:
        raise UserError(_message(path, what, e)) from e
    except Exception as e:
        if type(e).__name__ != "SafetensorError":
            raise
        raise UserError(_message(path, what, e)) from e


def _message(path: str | Path, what: str, e: BaseException) -> str:
    path = Path(path)
    detail = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
    problem = weights_problem(path) if path.is_dir() else None
    where = f" ({problem})" if problem else ""
    return f"cannot load the {what} in {path}{where}: {detail}"


def is_model_dir(path: str | Path) -> bool:
    """Whether `path` holds a full model (config.json), e.g. a stage's `final/` that exists."""
    return (Path(path) / "config.json").is_file()


def require_model_dir(path: str | Path, what: str = "model") -> Path:
    path = Path(path)
    config = path / "config.json"
    if not config.is_file():
        raise UserError(f"{what} directory {path} has no config.json (models are local paths; nothing is downloaded)")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{config}: not valid JSON ({e}); the model directory is damaged") from None
    if not isinstance(data, dict):
        raise UserError(f"{config}: expected a JSON object, got {type(data).__name__}")
    return path
