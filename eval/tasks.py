"""BFCL multi-turn tasks: the installed bfcl_eval data, or any BFCL-format JSONL, filtered and fingerprinted.

    from eval.tasks import load_tasks
    tasks = load_tasks(["base", "miss_func"], ids=None, limit=8)               # installed bfcl_eval data
    tasks = load_tasks(question_file="my_q.jsonl", answer_file="my_a.jsonl")  # your own BFCL-format files
    for cat, entries in tasks.entries.items(): ...
    tasks.provenance   # {"bfcl_eval": version, "files": {path: sha256}, ...}

Each entry is BFCL's question dict with `function` (the tool docs of its involved classes, minus held-out ones)
and `missed_function` ({turn: [docs]}) populated exactly as BFCL's loader does, so the runner needs nothing else.
`function` is what the prompt offers, decided by `chat.tools.offered_docs` as for SFT and RL (BFCL's language
hint; held-out docs stay without it, as BFCL announces them). `involved_classes` in a question file may name BFCL
classes or `module:Class` environments (`envs.resolve`), with `initial_config` keyed by class name.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from chat.tools import offered_docs
from core.errors import UserError
from core.jsonl import iter_jsonl
from envs import bfcl
from envs.resolve import UnknownEnvironment, func_docs, source_files

CATEGORY_PREFIX = "multi_turn_"


@dataclass
class TaskSet:
    entries: dict[str, list[dict]] = field(default_factory=dict)  # category -> entries (in file order)
    ground_truth: dict[str, dict[str, list[list[str]]]] = field(default_factory=dict)  # category -> id -> gt
    provenance: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(v) for v in self.entries.values())

    def all_entries(self) -> list[dict]:
        return [e for v in self.entries.values() for e in v]


def category_of(entry_id: str) -> str:
    """`multi_turn_miss_func_12` -> `miss_func` (BFCL: id.rsplit('_', 1)[0], minus the group prefix)."""
    stem = entry_id.rsplit("_", 1)[0]
    return stem[len(CATEGORY_PREFIX) :] if stem.startswith(CATEGORY_PREFIX) else stem


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_jsonl(path: str | Path) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"data file not found: {p}")
    rows = []
    for n, row in iter_jsonl(p):
        if not isinstance(row, dict) or "id" not in row:
            raise UserError(f"{p} line {n}: expected an object with an 'id'")
        rows.append(row)
    return rows


def populate_functions(entry: dict, where: str) -> dict:
    """BFCL's populate_test_cases_with_predefined_functions + language hint, for entries read from a path; the
    classes may be BFCL's or `module:Class` environments."""
    for key in ("question", "involved_classes"):
        if key not in entry:
            raise UserError(f"{where}: entry {entry.get('id')!r} has no '{key}'")
    try:
        docs = func_docs(entry["involved_classes"])
    except UnknownEnvironment as e:
        raise UserError(f"{where}: entry {entry['id']!r}: {e}") from None
    entry = copy.deepcopy(entry)
    missed = entry.get("missed_function") or {}
    held: dict[str, list[dict]] = {}
    for turn, names in missed.items():
        held[str(turn)] = []
        for name in names:  # BFCL's order: the names' order; only the first doc of a name moves
            i = next((i for i, d in enumerate(docs) if d["name"] == name), None)
            if i is not None:
                held[str(turn)].append(docs.pop(i))
    entry["function"] = offered_docs(docs)
    if missed:
        entry["missed_function"] = held
    return entry


def _filter(entries: list[dict], ids: list[str] | None, limit: int | None) -> list[dict]:
    if ids is not None:
        wanted = set(ids)
        entries = [e for e in entries if e["id"] in wanted]
    return entries[:limit] if limit is not None else entries


def load_tasks(
    categories: list[str] | None = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    question_file: str | Path | None = None,
    answer_file: str | Path | None = None,
) -> TaskSet:
    """Entries grouped by category, filtered by id list then `limit` (per category), with data provenance."""
    tasks = TaskSet(provenance={"bfcl_eval": bfcl.bfcl_version(), "files": {}})
    if question_file is not None:
        rows = read_jsonl(question_file)
        tasks.provenance["files"][str(question_file)] = sha256(question_file)
        answers: dict[str, list[list[str]]] = {}
        if answer_file is not None:
            answers = {r["id"]: r["ground_truth"] for r in read_jsonl(answer_file)}
            tasks.provenance["files"][str(answer_file)] = sha256(answer_file)
        by_cat: dict[str, list[dict]] = {}
        for row in rows:
            by_cat.setdefault(category_of(row["id"]), []).append(row)
        for cat, entries in by_cat.items():
            kept = _filter(entries, ids, limit)
            tasks.entries[cat] = [populate_functions(e, str(question_file)) for e in kept]
            tasks.ground_truth[cat] = {e["id"]: answers[e["id"]] for e in kept if e["id"] in answers}
        refs = {ref for e in tasks.all_entries() for ref in e["involved_classes"]}
        for p in source_files(sorted(refs)):  # a custom environment's code decides its results: hash it too
            tasks.provenance["files"][str(p)] = sha256(p)
    for cat in [] if question_file is not None else categories or []:
        if cat not in bfcl.MULTI_TURN_CATEGORIES:
            raise UserError(f"unknown BFCL multi-turn category {cat!r}; choose from {list(bfcl.MULTI_TURN_CATEGORIES)}")
        kept = _filter(bfcl.load_entries(cat, language_hint=False), ids, limit)
        tasks.entries[cat] = [{**e, "function": offered_docs(e["function"])} for e in kept]
        gt = bfcl.load_ground_truth(cat)
        tasks.ground_truth[cat] = {e["id"]: gt[e["id"]] for e in tasks.entries[cat]}
        for p in bfcl.data_files(cat):
            tasks.provenance["files"][str(p)] = sha256(p)
    if ids is not None:
        found = {e["id"] for e in tasks.all_entries()}
        missing = sorted(set(ids) - found)
        if missing:
            raise UserError(f"eval.ids: no such entries in {question_file or categories}: {missing[:5]}")
    return tasks
