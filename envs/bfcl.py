"""BFCL's multi-turn backends, data and docs, read from the installed `bfcl-eval` wheel.

    from funreason.envs import bfcl
    bfcl.set_project_root(run_dir / "eval" / "bfcl_root")      # optional; before anything imports bfcl_eval
    entries = bfcl.load_entries("base")                          # BFCL_v4_multi_turn_base, `function` filled
    gt = bfcl.load_ground_truth("base")                          # {id: [[call, ...] per turn]}
    entry = entries[0]
    instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"],
                                  long_context=bfcl.is_long_context("base"))
    # execute with envs.dispatch.Dispatcher(instances): never with BFCL's eval()-based executor
    # stages resolve environments through envs.resolve (BFCL names and module:Class), which builds BFCL's here

Importing `bfcl_eval.constants.eval_config` creates `result/`, `score/` and `.file_locks/` under
`$BFCL_PROJECT_ROOT`, which defaults to site-packages' parent. Every bfcl_eval import here is lazy and preceded
by `ensure_project_root()`, which points that variable at `$FUNREASON_BFCL_ROOT` or
`~/.cache/funreason/bfcl_root` unless the caller (or the user) set it already.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from funreason.core.errors import UserError
from funreason.envs.base import copy_state

__all__ = [
    "AGENTIC_CLASSES",
    "BFCL_CLASSES",
    "MULTI_TURN_CATEGORIES",
    "bfcl_version",
    "category_name",
    "data_files",
    "ensure_project_root",
    "func_docs",
    "is_long_context",
    "load_entries",
    "load_ground_truth",
    "new_backends",
    "set_project_root",
]

# Short names of the four scored multi-turn categories, in BFCL's order (constants/category_mapping.py).
MULTI_TURN_CATEGORIES = ("base", "miss_func", "miss_param", "long_context")
# The backend classes those categories use (constants/executable_backend_config.py, first eight entries).
BFCL_CLASSES = (
    "GorillaFileSystem",
    "MathAPI",
    "MessageAPI",
    "TwitterAPI",
    "TicketAPI",
    "TradingBot",
    "TravelAPI",
    "VehicleControlAPI",
)
# BFCL v4's agentic backends (same file): memory (BFCL's classes; vector through envs.embedding, offline) and web
# search (envs.web_corpus's frozen corpus, never BFCL's live SerpAPI class).
AGENTIC_CLASSES = ("MemoryAPI_kv", "MemoryAPI_vector", "MemoryAPI_rec_sum", "WebSearchAPI")
ROOT_ENV = "BFCL_PROJECT_ROOT"
OVERRIDE_ENV = "FUNREASON_BFCL_ROOT"


def default_project_root() -> Path:
    """`$FUNREASON_BFCL_ROOT`, else `$XDG_CACHE_HOME/funreason/bfcl_root` (XDG default `~/.cache`)."""
    if os.environ.get(OVERRIDE_ENV):
        return Path(os.environ[OVERRIDE_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "funreason" / "bfcl_root"


def _fresh_file_locks_in_child() -> None:
    """bfcl_eval keeps one `filelock.FileLock` per data file it reads, in a registry; filelock refuses an instance
    inherited across fork. A forked worker (synth.workers, core.parallel) starts with an empty registry and makes
    its own locks on first use."""
    utils = sys.modules.get("bfcl_eval.utils")
    if utils is not None and hasattr(utils, "_FILE_LOCK_REGISTRY"):
        utils._FILE_LOCK_REGISTRY = {}
        utils._FILE_LOCK_REGISTRY_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_fresh_file_locks_in_child)


def _imported_root() -> Path | None:
    """The root bfcl_eval froze at import time, or None if it is not imported yet."""
    config = sys.modules.get("bfcl_eval.constants.eval_config")
    return None if config is None else Path(config.PROJECT_ROOT)


def set_project_root(path: str | os.PathLike) -> Path:
    """Point BFCL's writable root at `path` (e.g. a dir in the run dir); returns the root actually in effect.

    bfcl_eval reads the variable once, at import: if it is already imported with another root, that root stays
    (a warning says so) and is returned.
    """
    path = Path(path).expanduser().resolve()
    frozen = _imported_root()
    if frozen is not None and frozen.resolve() != path:
        warnings.warn(f"bfcl_eval is already imported with {ROOT_ENV}={frozen}; {path} is ignored", stacklevel=2)
        return frozen
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ROOT_ENV] = str(path)
    return path


def ensure_project_root() -> Path:
    """Set `$BFCL_PROJECT_ROOT` to the default root unless it is set already; returns the root in effect."""
    frozen = _imported_root()
    if frozen is not None:
        return frozen
    if not os.environ.get(ROOT_ENV):
        return set_project_root(default_project_root())
    root = Path(os.environ[ROOT_ENV])
    root.mkdir(parents=True, exist_ok=True)
    return root


def _bfcl(module: str) -> Any:
    """Import `bfcl_eval.<module>` with the project root set first."""
    loaded = sys.modules.get(f"bfcl_eval.{module}")
    if loaded is not None:  # the root was settled when it was imported (scoring asks thousands of times)
        return loaded
    ensure_project_root()
    return importlib.import_module(f"bfcl_eval.{module}")


def entry_sort_key(entry_id: str) -> tuple:
    """BFCL's `sort_key` order for result rows: category, then the universal index, i.e. the number after the last
    '_' before any '-' (`live_simple_19-3-15` -> 19, `memory_kv_0-customer-0` -> 0); ids without one sort last."""
    stem, _, tail = entry_id.split(":")[0].rpartition("_")
    index = tail.split("-")[0]
    return (stem, 0, int(index), entry_id) if index.isdigit() else (stem, 1, 0, entry_id)


def bfcl_version() -> str:
    """The installed bfcl-eval version (report it next to every score: BFCL's data changes between releases)."""
    return importlib.metadata.version("bfcl-eval")


def category_name(category: str) -> str:
    """`base` or `multi_turn_base` → `multi_turn_base`; anything else is a UserError naming the valid ones."""
    short = category.removeprefix("multi_turn_")
    if short not in MULTI_TURN_CATEGORIES:
        raise UserError(f"unknown BFCL multi-turn category {category!r}; expected one of {list(MULTI_TURN_CATEGORIES)}")
    return f"multi_turn_{short}"


def is_long_context(category: str) -> bool:
    """BFCL's rule for loading backends with long-context padding (base_handler / multi_turn_runner)."""
    return "long_context" in category or "composite" in category


def _backend_class(class_name: str) -> type:
    mapping = _bfcl("constants.executable_backend_config").CLASS_FILE_PATH_MAPPING
    if class_name == "WebSearchAPI":  # the frozen corpus stands in for the live web (envs.web_corpus)
        from funreason.envs.web_corpus import FrozenWebSearchAPI

        return FrozenWebSearchAPI
    if class_name == "MemoryAPI_vector":  # its encoder from the packaged model, offline (envs.embedding)
        from funreason.envs.embedding import vector_memory_class  # deferred: sentence-transformers, the optional extra

        return vector_memory_class()
    if class_name not in mapping:
        raise UserError(f"unknown BFCL backend class {class_name!r}; expected one of {sorted(mapping)}")
    return getattr(importlib.import_module(mapping[class_name]), class_name)


def new_backends(initial_config: dict, involved_classes: list[str], long_context: bool = False) -> dict[str, Any]:
    """Fresh backend instances, one per involved class, loaded exactly as BFCL's executor loads them.

    `class_()`, then (unless the class is stateless) `_load_scenario(deepcopy(initial_config.get(class_name, {})),
    long_context=...)`. Unlike BFCL there is no process-global cache: every call builds new instances, and nothing
    they hold is shared with another instance (long-context padding is copied; mutable defaults are isolated per
    call by the dispatcher, envs/defaults.py).
    """
    stateless = _bfcl("constants.executable_backend_config").STATELESS_CLASSES
    instances = {}
    for class_name in involved_classes:
        instance = _backend_class(class_name)()
        if class_name not in stateless:
            instance._load_scenario(copy_state(initial_config.get(class_name, {})), long_context=long_context)
            if long_context:  # the padding is BFCL's module constants inserted as they are (TravelAPI's extra cards):
                vars(instance).update(copy_state(vars(instance)))  # a booking would charge them process-wide
        instances[class_name] = instance
    return instances


def _func_doc_file(class_name: str) -> Path:
    config = _bfcl("constants.eval_config")
    mapping = _bfcl("constants.executable_backend_config").MULTI_TURN_FUNC_DOC_FILE_MAPPING
    if class_name not in mapping:
        raise UserError(f"unknown BFCL backend class {class_name!r}; expected one of {sorted(mapping)}")
    return Path(config.MULTI_TURN_FUNC_DOC_PATH) / mapping[class_name]


def func_docs(involved_classes: list[str]) -> list[dict]:
    """The BFCL-dialect docs of every tool of the classes, concatenated in the given order (as BFCL builds
    `entry["function"]`, before any held-out function is removed and without the language hint)."""
    docs = []
    for class_name in involved_classes:
        with open(_func_doc_file(class_name), encoding="utf-8") as f:
            docs.extend(json.loads(line) for line in f if line.strip())
    return docs


def load_entries(category: str, language_hint: bool = True) -> list[dict]:
    """The 200 question entries of a multi-turn category, through BFCL's own `load_dataset_entry`.

    `function` holds the involved classes' docs minus held-out ones; miss_func's `missed_function` maps a turn
    index (str) to the held-out docs. `language_hint` appends " Note that the provided function is in Python 3
    syntax." to the descriptions in `function` (not to held-out docs), as BFCL's generation step does.
    """
    utils = _bfcl("utils")
    return utils.load_dataset_entry(category_name(category), include_language_specific_hint=language_hint)


def load_ground_truth(category: str) -> dict[str, list[list[str]]]:
    """{entry id: ground truth} where the ground truth is one list of call strings per turn."""
    rows = _bfcl("utils").load_ground_truth_entry(category_name(category))
    return {row["id"]: row["ground_truth"] for row in rows}


def data_files(category: str) -> list[Path]:
    """The files a category's results depend on, for provenance hashes: questions, answers, all func docs."""
    name = category_name(category)
    config = _bfcl("constants.eval_config")
    prefix = _bfcl("constants.category_mapping").VERSION_PREFIX
    files = [
        Path(config.PROMPT_PATH) / f"{prefix}_{name}.json",
        Path(config.POSSIBLE_ANSWER_PATH) / f"{prefix}_{name}.json",
    ]
    return files + [_func_doc_file(class_name) for class_name in BFCL_CLASSES]
