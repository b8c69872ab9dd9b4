"""Held-out evaluation splits from synthesis: BFCL-format question and answer files, disjoint from training.

    funreason synth --config recipes/learning_check.yaml --heldout 60           # synthesis, then both splits
    funreason synth --config recipes/learning_check.yaml --resume --heldout 60  # splits of a finished synthesis
    from funreason.synth.heldout import write_splits
    summary = write_splits(recipe.synth, "runs/x/synth", seed=recipe.seed, count=60)   # {"valid": {...}, "test": ...}
    funreason eval --config R eval.question_file=<run_dir>/synth/heldout/synthtest_questions.jsonl \\
        eval.answer_file=<run_dir>/synth/heldout/synthtest_answers.jsonl

Any environment synthesis runs on (BFCL classes or a user's `module:Class`) gets a BFCL-style multi-turn benchmark
this way, scored by the same checker under a category name of its own (`<name><split>`, e.g. `synthtest`: entry
ids `synthtest_0`, ...). Two splits: `valid` (for tuning, and GRPO's in-training held-out curve:
`valid_records.jsonl`) and `test` (the reported figures; never tuned on).

Disjoint by construction: a split is a separate synthesis run with its own seed (the recipe's seed plus a split
offset), so its initial states, values and requests are drawn afresh. Checked: a held-out trajectory sharing a user
request (exact text) or an initial state with any training trajectory, or with the other split, is dropped and
counted (`overlap_dropped` in `<name><split>_summary.json`). Trajectories that hold a tool out (miss_func) or load
long-context states are left out of a split: BFCL decides both by the category name, which here is our own.
Files: question rows `{"id", "question": [[user messages] per turn], "initial_config", "involved_classes"}`,
answer rows `{"id", "ground_truth": [[call strings] per turn]}`, as `eval.question_file` / `eval.answer_file` read.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from funreason.core.atomic import atomic_write_text
from funreason.core.errors import UserError
from funreason.core.jsonl import iter_jsonl

SPLIT_SEED_OFFSET = {"valid": 1_000_003, "test": 2_000_006}  # far from any seed a user would pick for training


def split_seed(seed: int, split: str) -> int:
    return seed + SPLIT_SEED_OFFSET[split]


def _loads(value):
    return json.loads(value) if isinstance(value, str) else value


def user_turns(messages: list[dict]) -> list[list[dict]]:
    """The user messages of each user turn (consecutive user messages form one turn), as BFCL's `question`."""
    turns: list[list[dict]] = []
    previous = None
    for m in messages:
        if m.get("role") == "user":
            message = {"role": "user", "content": str(m.get("content") or "")}
            if previous == "user":
                turns[-1].append(message)
            else:
                turns.append([message])
        previous = m.get("role")
    return turns


def to_bfcl(record: dict, entry_id: str) -> tuple[dict, dict]:
    """One synthesized record as a BFCL question row and answer row."""
    meta = _loads(record["metadata"])
    question = user_turns(_loads(record["messages"]))
    answer = [list(t["ground_truth"]) for t in meta["turns"]]
    if len(question) != len(answer):
        raise UserError(f"{record.get('id')}: {len(question)} user turns but {len(answer)} ground-truth turns")
    refs = list(meta.get("environment_refs") or meta["involved_classes"])
    return (
        {"id": entry_id, "question": question, "initial_config": meta["initial_config"], "involved_classes": refs},
        {"id": entry_id, "ground_truth": answer},
    )


def fingerprints(record: dict) -> set[str]:
    """What must never be shared between a held-out and a training trajectory: each request, the initial state."""
    meta = _loads(record["metadata"])
    requests = {"request:" + " ".join(turn[0]["content"].split()) for turn in user_turns(_loads(record["messages"]))}
    return requests | {"state:" + json.dumps(meta["initial_config"], sort_keys=True)}


def is_portable(record: dict) -> bool:
    """False for what a category of our own cannot express (BFCL reads miss_func and long context from the name)."""
    meta = _loads(record["metadata"])
    return not meta.get("missed_function") and not meta.get("long_context")


def read_records(path: Path) -> list[dict]:
    return [row for _, row in iter_jsonl(path)] if path.is_file() else []


def select(records: list[dict], seen: set[str]) -> tuple[list[dict], int, int]:
    """The records usable as held-out entries: (kept, dropped for overlap with `seen`, left out as not portable)."""
    kept, overlap, unportable = [], 0, 0
    for record in records:
        if not is_portable(record):
            unportable += 1
        elif fingerprints(record) & seen:
            overlap += 1
        else:
            kept.append(record)
    return kept, overlap, unportable


def write_files(records: list[dict], out: Path, category: str) -> dict[str, str]:
    """`<category>_questions.jsonl` and `<category>_answers.jsonl` in `out`; ids `<category>_<n>`."""
    rows = [to_bfcl(r, f"{category}_{n}") for n, r in enumerate(records)]
    paths = {"question_file": out / f"{category}_questions.jsonl", "answer_file": out / f"{category}_answers.jsonl"}
    for key, column in (("question_file", 0), ("answer_file", 1)):
        atomic_write_text(paths[key], "".join(json.dumps(row[column], ensure_ascii=False) + "\n" for row in rows))
    return {k: str(v) for k, v in paths.items()}


def write_splits(config, synth_dir: str | Path, seed: int, count: int, name: str = "synth", tokenizer=None) -> dict:
    """Synthesize `count` trajectories per split (valid, test) and write each as BFCL files under
    `<synth_dir>/heldout/`; `synth_dir` holds the training synthesis (its trajectories.jsonl is the overlap set)."""
    from funreason.synth.pipeline import run  # deferred: synth.pipeline's own hook imports this module

    synth_dir = Path(synth_dir)
    training = read_records(synth_dir / "trajectories.jsonl")
    if not training:
        raise UserError(f"no training trajectories in {synth_dir} (run synthesis first): nothing to keep apart")
    seen = set().union(*(fingerprints(r) for r in training))
    out = synth_dir / "heldout"
    summary = {}
    for split in SPLIT_SEED_OFFSET:
        raw = out / f"raw-{split}"
        run(dataclasses.replace(config, num_trajectories=count), raw, seed=split_seed(seed, split), resume=True,
            progress=False, tokenizer=tokenizer)  # fmt: skip
        kept, overlap, unportable = select(read_records(raw / "trajectories.jsonl"), seen)
        seen |= set().union(*(fingerprints(r) for r in kept))  # the test split is kept apart from valid too
        category = f"{name}{split}"
        files = write_files(kept, out, category)
        atomic_write_text(out / f"{split}_records.jsonl", "".join(json.dumps(r) + "\n" for r in kept))
        summary[split] = {
            "category": category,
            "entries": len(kept),
            "turns": sum(len(_loads(r["metadata"])["turns"]) for r in kept),
            "overlap_dropped": overlap,
            "not_portable": unportable,
            "seed": split_seed(seed, split),
            **files,
        }
        atomic_write_text(out / f"{category}_summary.json", json.dumps(summary[split], indent=2) + "\n")
        print(f"[heldout] {split}: {len(kept)} entries ({overlap} dropped for overlap) -> {files['question_file']}")
    return summary
