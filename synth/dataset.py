"""Turn finished trajectory records into the training dataset (TRL conversational format) and save it.

    from funreason.synth.dataset import build_dataset, save_dataset
    ds = build_dataset(records)                 # columns: messages, tools, metadata
    save_dataset(records, "runs/x/synth/dataset")
    # later: datasets.load_from_disk("runs/x/synth/dataset")

Rows keep the order given; the pipeline passes records by trajectory index, so the same records give the same
dataset however the run was interrupted, sharded or scheduled. The dataset is built with `on_mixed_types="use_json"`: without it Arrow unifies the
differing keys of tool-call `arguments` and tool `parameters` across rows and fills the gaps with None, which the
chat template then renders as bogus `null` arguments (docs/stack.md §5).

One dataset serves both tool-call formats (`hermes` and `pythonic`): messages are format-neutral (assistant
`tool_calls` are dicts `{"type": "function", "function": {"name", "arguments": dict}}`, reasoning is in
`reasoning_content`), and chat/render applies the recipe's format when SFT/GRPO/eval render the text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
from datasets import Dataset

COLUMNS = ("messages", "tools", "metadata")


def build_dataset(records: list[dict]) -> Dataset:
    rows = []
    for record in records:
        missing = [c for c in COLUMNS if c not in record]
        if missing:
            raise ValueError(f"trajectory {record.get('id')!r} lacks {missing}")
        rows.append({c: record[c] for c in COLUMNS})
    if not rows:
        return Dataset.from_dict({c: [] for c in COLUMNS})
    return Dataset.from_list(rows, on_mixed_types="use_json")


def save_dataset(records: list[dict], path: str | Path) -> Path:
    """Build and save atomically: written next to `path`, then swapped in, so a kill leaves the old or the new."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # the pipeline has its own bar; a one-shard save bar is noise
    try:
        build_dataset(records).save_to_disk(str(tmp))
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)
    return path
