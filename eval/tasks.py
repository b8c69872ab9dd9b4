"""BFCL multi-turn tasks: the installed bfcl_eval data, or any BFCL-format JSONL, filtered and fingerprinted.

    from funreason.eval.tasks import load_tasks
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

from funreason.chat.tools import offered_docs
from funreason.core.errors import UserError
from funreason.core.jsonl import iter_jsonl, lone_surrogate
from funreason.envs import bfcl
from funreason.envs.resolve import UnknownEnvironment, func_docs, source_files

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


def read_jsonl_lines(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, row) of every row of a question or answer file; each row an object with an 'id'."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"data file not found: {p}")
    rows = []
    for n, row in iter_jsonl(p):
        if not isinstance(row, dict) or "id" not in row:
            raise UserError(f"{p} line {n}: expected an object with an 'id'")
        rows.append((n, row))
    return rows


class DataError(UserError):
    """A question or answer file is malformed: the message names the file, the line and the field. Never scored
    as a model failure."""


_QUESTION_ROLES = ("user", "system", "assistant")


def check_question(entry: dict, where: str) -> None:
    """The shape of one question-file entry, as BFCL's loop and checker read it; `DataError` naming the field."""
    turns = entry.get("question")
    if not isinstance(turns, list):
        raise DataError(f"{where}: field 'question' must be a list of turns, got {type(turns).__name__}")
    for t, turn in enumerate(turns):
        if not isinstance(turn, list):
            raise DataError(f"{where}: field 'question[{t}]' must be a list of messages, got {type(turn).__name__}")
        for m, message in enumerate(turn):
            field_name = f"question[{t}][{m}]"
            if not isinstance(message, dict):
                raise DataError(f"{where}: field '{field_name}' must be a message object, got {type(message).__name__}")
            if message.get("role") not in _QUESTION_ROLES:
                raise DataError(
                    f"{where}: field '{field_name}.role' is {message.get('role')!r}; use one of {list(_QUESTION_ROLES)}"
                )
            if not isinstance(message.get("content"), str):
                raise DataError(f"{where}: field '{field_name}.content' must be a string")
    unencodable = lone_surrogate(entry)  # a prompt the tokenizer cannot take
    if unencodable:
        raise DataError(f"{where}: {unencodable}")
    classes = entry.get("involved_classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise DataError(f"{where}: field 'involved_classes' must be a non-empty list of class names")
    config = entry.get("initial_config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise DataError(
            f"{where}: field 'initial_config' must be an object keyed by class, got {type(config).__name__}"
        )
    # BFCL's own entries carry configs of BFCL classes they do not involve (base line 97: TravelAPI for a
    # VehicleControlAPI task), which BFCL ignores: those pass. Any other key (a typo, an unknown class) would
    # silently leave a class in its empty state: refused.
    known = set(classes) | {c.rpartition(":")[2] for c in classes} | set(bfcl.BFCL_CLASSES)
    for key, value in config.items():
        if key not in known:
            raise DataError(
                f"{where}: field 'initial_config.{key}' names no class of involved_classes {classes} (nor a BFCL class)"
            )
        if not isinstance(value, dict):
            raise DataError(f"{where}: field 'initial_config.{key}' must be an object, got {type(value).__name__}")
    missed = entry.get("missed_function") or {}
    if not isinstance(missed, dict):
        raise DataError(f"{where}: field 'missed_function' must be an object {{turn: [tool names]}}")
    for turn, names in missed.items():
        if not str(turn).isdigit() or int(turn) >= len(turns):
            raise DataError(
                f"{where}: field 'missed_function.{turn}' is not a turn of the question (0-{len(turns) - 1})"
            )
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError(f"{where}: field 'missed_function.{turn}' must be a list of tool names")


def check_ground_truth(row: dict, where: str, turns: int | None) -> list[list[str]]:
    """An answer row's `ground_truth`: a list of turns, each a list of call strings (one turn per question turn)."""
    gt = row.get("ground_truth")
    if not isinstance(gt, list):
        raise DataError(
            f"{where}: field 'ground_truth' must be a list of turns of call strings, got {type(gt).__name__}"
        )
    for t, turn in enumerate(gt):
        if not isinstance(turn, list):
            raise DataError(
                f"{where}: field 'ground_truth[{t}]' must be a list of call strings, got {type(turn).__name__}"
            )
        for c, call in enumerate(turn):
            if not isinstance(call, str):
                raise DataError(
                    f"{where}: field 'ground_truth[{t}][{c}]' must be a call string, got {type(call).__name__}"
                )
    if turns is not None and len(gt) != turns:
        raise DataError(f"{where}: field 'ground_truth' has {len(gt)} turns, its question has {turns}")
    return gt


def populate_functions(entry: dict, where: str) -> dict:
    """BFCL's populate_test_cases_with_predefined_functions + language hint, for entries read from a path; the
    classes may be BFCL's or `module:Class` environments."""
    for key in ("question", "involved_classes"):
        if key not in entry:
            raise UserError(f"{where}: entry {entry.get('id')!r} has no '{key}'")
    check_question(entry, where)
    try:
        docs = func_docs(entry["involved_classes"])
    except UnknownEnvironment as e:
        raise UserError(f"{where}: entry {entry['id']!r}: {e}") from None
    names = {d["name"] for d in docs}
    for turn, held_names in (entry.get("missed_function") or {}).items():
        unknown = [n for n in held_names if n not in names]
        if unknown:
            raise DataError(
                f"{where}: field 'missed_function.{turn}' holds out {unknown[0]!r}, not a tool of "
                f"{entry['involved_classes']}"
            )
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
        lines = read_jsonl_lines(question_file)
        line_of = {row["id"]: n for n, row in lines}
        rows = [row for _, row in lines]
        for n, row in lines:  # every entry's shape, before its answers are matched to it
            check_question(row, f"{question_file} line {n}")
        tasks.provenance["files"][str(question_file)] = sha256(question_file)
        answers: dict[str, list[list[str]]] = {}
        if answer_file is not None:
            turns = {row["id"]: len(row["question"]) for row in rows if isinstance(row.get("question"), list)}
            answers = {
                r["id"]: check_ground_truth(r, f"{answer_file} line {n}", turns.get(r["id"]))
                for n, r in read_jsonl_lines(answer_file)
            }
            tasks.provenance["files"][str(answer_file)] = sha256(answer_file)
        by_cat: dict[str, list[dict]] = {}
        for row in rows:
            by_cat.setdefault(category_of(row["id"]), []).append(row)
        for cat, entries in by_cat.items():
            kept = _filter(entries, ids, limit)
            tasks.entries[cat] = [populate_functions(e, f"{question_file} line {line_of[e['id']]}") for e in kept]
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
