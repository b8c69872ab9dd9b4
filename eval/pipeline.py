"""The eval stage: run BFCL tasks (multi-turn, single-turn, agentic) against the run's models, score them, record how.

    from eval.pipeline import run_eval_stage, evaluate_model
    summary = run_eval_stage(recipe, "runs/smoke/recipe.yaml")      # what `funreason run` calls
    evaluate_model(recipe, "runs/smoke/sft/final", label="sft", resume=True)

For each model (the recipe's `model` as `base`, then `<run_dir>/sft/final` and `<run_dir>/grpo/final` when they
exist and `eval.models` lists them) it writes `<run_dir>/eval/<label>/`:
    result/<label>/multi_turn/BFCL_v4_multi_turn_<cat>_result.json    (BFCL's result rows)
    score/...                                                          (eval.score: BFCL score files, diagnostics)
    metadata.json                                                      (model, format, sampling, tokens, provenance)
    identity.json                                                      (what the rows were made with; see below)
Run identity per label: the model (path and a fingerprint of its weights files), backend and sampling, chat
options (the holdout mode among them), categories/ids/limit, data file hashes, max_new_tokens and max_context are written to
identity.json before the first row. `resume=True` with another identity, or a run without `resume` over finished
rows, is refused in one line saying what differs and how to start over: `fresh=True` (`funreason eval --fresh`)
moves the label's old results into `<label>/superseded-<time>/`, or use another label. Transport settings (URLs,
keys, timeouts, concurrency, batch sizes) are not identity. `evaluate_model` holds the label dir's stage lock
(re-entrant: `funreason eval` and `funreason run` already hold it).
BFCL_PROJECT_ROOT is pointed inside the run dir (`<run_dir>/bfcl_root`), so bfcl_eval writes nothing
elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from core import provenance
from core.atomic import atomic_write_json
from core.errors import UserError
from core.jsonl import iter_jsonl
from core.layout import RunLayout
from core.lock import stage_lock
from core.modelfiles import check_tokenizer_files, is_model_dir, loading, require_model_dir
from core.provenance import sha256_file
from core.sections.eval import EvalSection
from envs import bfcl
from envs.dispatch import set_default_limits
from eval import agentic_run, format_sensitivity
from eval.backends import make_backend
from eval.runner import MultiTurnRunner, model_dir_name, result_file
from eval.score import score_results
from eval.single_run import EXECUTABLE_NOTE, SingleTurnRunner, data_files, load_single_turn, split_categories
from eval.single_run import result_path as single_result_path
from eval.tasks import load_tasks


def set_bfcl_root(recipe) -> Path:
    return bfcl.set_project_root(RunLayout.of(recipe).bfcl_root)


def context_limit(model_path: str, section: EvalSection) -> int | None:
    if section.max_context is not None:
        return section.max_context
    from transformers import AutoConfig  # deferred: heavy (torch), and only without eval.max_context

    return getattr(AutoConfig.from_pretrained(model_path), "max_position_embeddings", None)


def weights_fingerprint(model_path: str | Path) -> str:
    """A cheap fingerprint of a model dir's weights: name, size and the hash of the first 64 KiB and last 1 MiB of
    every weights file and of config.json (a retrained checkpoint at the same path differs; a copy does not)."""
    digest = hashlib.sha256()
    root = Path(model_path)
    files = sorted(p for p in root.rglob("*") if p.is_file() and (p.suffix in (".safetensors", ".bin", ".pt")))
    for path in [root / "config.json", *files]:
        if not path.is_file():
            continue
        size = path.stat().st_size
        digest.update(f"{path.relative_to(root)}:{size}".encode())
        with open(path, "rb") as f:
            digest.update(f.read(1 << 16))
            if size > 1 << 16:
                f.seek(max(1 << 16, size - (1 << 20)))
                digest.update(f.read())
    return digest.hexdigest()[:16]


def run_identity(recipe, section: EvalSection, model_path: str, tasks, max_context, single=(), agentic=()) -> dict:
    """What the rows of a label depend on (see the module docstring); transport settings are left out.
    `single`, `agentic`: the other categories run beside the multi-turn `tasks` (their data files count too; so
    does a web-search corpus)."""
    data = dict(tasks.provenance["files"]) | {str(p): sha256_file(p) for p in data_files(list(single))}
    if section.web_search_corpus and any(c.startswith("web_search") for c in agentic):
        data[str(section.web_search_corpus)] = sha256_file(section.web_search_corpus)
    return {
        "model": str(Path(model_path).resolve()),
        "weights": weights_fingerprint(model_path),
        "backend": section.backend,
        "sampling": {"temperature": section.temperature, "top_p": section.top_p, "seed": recipe.seed},
        "chat": asdict(recipe.chat),
        "categories": sorted(tasks.entries) + sorted(single) + sorted(agentic),
        "ids": section.ids,
        "limit": section.limit,
        "data": dict(sorted(data.items())),
        "max_new_tokens": section.max_new_tokens,
        "max_context": max_context,
    }


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{d}" for d in _differences(a, b)]
        else:
            show = lambda v: s if len(s := json.dumps(v, default=str)) <= 60 else s[:57] + "..."  # noqa: E731
            out.append(f"{key} {show(a)} -> {show(b)}")
    return out


def finished_rows(out: Path) -> int:
    """Result rows already in a label's dir (every result file under `result/`)."""
    count = 0
    for path in (out / "result").rglob("*_result.json") if (out / "result").is_dir() else []:
        with open(path, "rb") as f:
            count += sum(1 for line in f if line.strip())
    return count


def supersede(out: Path) -> Path | None:
    """Move a label's results, scores, metadata and identity into `<out>/superseded-<time>/`; never delete."""
    names = [n for n in ("result", "score", "metadata.json", "identity.json") if (out / n).exists()]
    if not names:
        return None
    dest = out / f"superseded-{time.strftime('%Y%m%d-%H%M%S')}"
    while dest.exists():
        dest = dest.with_name(dest.name + "_")
    dest.mkdir(parents=True)
    for name in names:
        shutil.move(str(out / name), str(dest / name))
    return dest


def check_identity(out: Path, label: str, identity: dict, resume: bool) -> None:
    """Refuse to mix rows of another run identity into a label, or to drop finished rows without being asked."""
    rows = finished_rows(out)
    path = out / "identity.json"
    old = None
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    start_over = f"pass --fresh to move them into {out}/superseded-<time>/, or use another --label"
    if rows and not resume:
        raise UserError(
            f"eval label {label!r} already holds {rows} finished result rows in {out}; pass --resume to keep them "
            f"and run the rest, {start_over}"
        )
    if rows and isinstance(old, dict) and old != identity:
        diff = "; ".join(_differences(old, identity))
        raise UserError(f"eval label {label!r} in {out} was run with another identity ({diff}); {start_over}")


def evaluate_model(
    recipe, model_path: str, label: str, resume: bool = False, progress: bool = True, fresh: bool = False
) -> dict:
    """Run, score and describe one model in `<run_dir>/eval/<label>/`; returns the metadata written. Holds the
    label dir's lock; refuses another run identity (see the module docstring); `fresh` moves old results aside."""
    out = RunLayout.of(recipe).eval_dir(label)
    with stage_lock(out, "funreason eval"):  # re-entrant: callers holding it already are fine
        return _evaluate_model(recipe, model_path, label, resume, progress, fresh)


def _evaluate_model(recipe, model_path: str, label: str, resume: bool, progress: bool, fresh: bool) -> dict:
    from transformers import AutoTokenizer  # deferred: heavy (torch)

    section: EvalSection = recipe.eval or EvalSection()
    set_default_limits(getattr(recipe, "execution", None))  # every call this stage executes, live and in scoring
    # openai too: the prompt is rendered here, with the model's own tokenizer and chat template.
    require_model_dir(model_path)
    check_tokenizer_files(model_path)
    set_bfcl_root(recipe)
    out = RunLayout.of(recipe).eval_dir(label)
    out.mkdir(parents=True, exist_ok=True)
    multi, single, agentic_cats = split_categories(section.categories)  # eval.single_run
    if format_sensitivity.CATEGORY in single:
        format_sensitivity.require_prompting(recipe.chat.tool_format)
    single = [] if section.question_file else single
    agentic_cats = [] if section.question_file else agentic_cats
    others = single or agentic_cats
    mt_ids = section.ids if not others or section.ids is None else [i for i in section.ids if i.startswith("multi_")]
    tasks = load_tasks(multi, mt_ids, section.limit, section.question_file, section.answer_file)
    single_entries = load_single_turn(single, section.ids, section.limit)
    model_result_dir = out / "result" / model_dir_name(label)
    agentic_entries = agentic_run.load_agentic(  # eval.agentic_run: memory (+ prereqs), web search on a corpus
        agentic_cats, model_result_dir, section.ids, section.limit, section.web_search_corpus
    )
    if section.ids is not None and others:
        found = {e["id"] for e in tasks.all_entries()} | {e["id"] for es in single_entries.values() for e in es}
        found |= {e["id"] for es in agentic_entries.values() for e in es}
        if set(section.ids) - found:
            raise UserError(
                f"eval.ids: no such entries in {section.categories}: {sorted(set(section.ids) - found)[:5]}"
            )
    max_context = context_limit(model_path, section)
    identity = run_identity(recipe, section, model_path, tasks, max_context, single, agentic_cats)
    if fresh:
        moved = supersede(out)
        if moved is not None:
            print(f"[eval] {label}: earlier results moved into {moved}")
    check_identity(out, label, identity, resume)
    atomic_write_json(out / "identity.json", identity)
    with loading(model_path, "tokenizer"):
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    t0 = time.time()
    backend = make_backend(section, model_path, tokenizer, seed=recipe.seed)
    try:
        runner = MultiTurnRunner(
            backend,
            tokenizer,
            recipe.chat,
            max_new_tokens=section.max_new_tokens,
            max_context=max_context,
            in_flight=section.concurrency if section.backend == "openai" else section.batch_size,
            state_log=section.state_log,
            progress=progress,
        )
        stats = runner.run(tasks.entries, out / "result" / model_dir_name(label), resume=resume)
        single_stats = SingleTurnRunner(
            backend, tokenizer, recipe.chat, max_new_tokens=section.max_new_tokens, max_context=max_context,
            in_flight=runner.in_flight, progress=progress,
        ).run(single_entries, out / "result" / model_dir_name(label), resume=resume)  # fmt: skip
        agentic_runner = agentic_run.AgenticRunner(
            backend, tokenizer, recipe.chat, max_new_tokens=section.max_new_tokens, max_context=max_context,
            in_flight=runner.in_flight, state_log=section.state_log,
            progress=progress,
        )  # fmt: skip
        agentic_stats = agentic_run.run_agentic(agentic_runner, agentic_entries, model_result_dir, resume=resume)
        backend_info = backend.describe()
    finally:
        backend.close()
    if section.question_file and not section.answer_file:
        scores = {"error": "eval.question_file without eval.answer_file: results written, not scored"}
    else:
        # BFCL's own categories are scored against the whole installed category (a limited run shows as partial);
        # entries from a question file against that file and its answers.
        given = tasks if section.question_file else None
        scores = score(out, recipe.chat.tool_format, list(tasks.entries) + list(single_entries) + agentic_cats, given)
    web_search = [c for c in agentic_cats if c in agentic_run.agentic.WEB_SEARCH]
    corpus = [section.web_search_corpus] if web_search else []
    meta = {
        "label": label,
        "model": str(model_path),
        "tool_format": recipe.chat.tool_format,
        "chat": asdict(recipe.chat),
        "sampling": {k: backend_info.get(k) for k in ("temperature", "top_p", "seed", "greedy")},
        "backend": backend_info,
        "max_new_tokens": section.max_new_tokens,
        "max_context": max_context,
        "categories": list(tasks.entries) + list(single_entries) + agentic_cats,
        "entries": len(tasks) + sum(map(len, single_entries.values())) + sum(map(len, agentic_entries.values())),
        "not_run": EXECUTABLE_NOTE,
        "wall_time_s": round(time.time() - t0, 2),
        "run": stats,
        "run_single_turn": single_stats,
        "run_agentic": agentic_stats,
        "token_counts": token_counts(
            model_result_dir,
            list(tasks.entries),
            list(single_entries),
            agentic_run.result_paths(model_result_dir, list(agentic_entries)),
        ),  # fmt: skip
        "scores": scores,
        "provenance": provenance.collect(
            recipe,
            data_files=list(tasks.provenance["files"]) + [str(p) for p in data_files(single)] + corpus,
            extra=tasks.provenance,
        ),
        "identity": identity,
    }
    if web_search:  # the report labels these scores: a frozen corpus is not the live web
        meta["web_search_corpus"] = section.web_search_corpus
    atomic_write_json(out / "metadata.json", meta)
    return meta


def token_counts(model_result_dir: Path, categories: list[str], single: list[str] = (), paths: list = ()) -> dict:
    """Totals over the result files (so a resumed run counts the entries finished before the kill too)."""
    totals = {"prompt": 0, "completion": 0, "steps": 0, "inference_errors": 0}
    for cat in single:  # single-turn rows: one step, counts are numbers
        path = single_result_path(model_result_dir, cat)
        for _, row in iter_jsonl(path, bad_lines="keep") if path.is_file() else []:
            if not isinstance(row, dict):  # a torn line (BadLine): scoring names it
                continue
            if isinstance(row.get("result"), str) and row["result"].startswith("Error during inference"):
                totals["inference_errors"] += 1
                continue
            totals["prompt"] += row.get("input_token_count", 0)
            totals["completion"] += row.get("output_token_count", 0)
            totals["steps"] += 1
    for path in [result_file(model_result_dir, cat) for cat in categories] + list(paths):  # multi-turn layout rows
        if not path.is_file():
            continue
        for _, row in iter_jsonl(path, bad_lines="keep"):
            if not isinstance(row, dict):
                continue
            if isinstance(row.get("result"), str):
                totals["inference_errors"] += 1
                continue
            totals["prompt"] += sum(map(sum, row.get("input_token_count", [])))
            totals["completion"] += sum(map(sum, row.get("output_token_count", [])))
            totals["steps"] += sum(map(len, row.get("input_token_count", [])))
    return totals


def score(out: Path, fmt: str, categories: list[str], tasks=None):
    """eval.score over this label's result files against `tasks` (the installed BFCL's when None)."""
    return score_results(out / "result", out / "score", fmt, categories=categories, tasks=tasks)


def models_to_evaluate(recipe) -> list[tuple[str, str]]:
    """(label, path) for the base model and whichever trained checkpoints exist, in `eval.models` order."""
    section: EvalSection = recipe.eval or EvalSection()
    layout = RunLayout.of(recipe)
    out = []
    for label in section.models:
        if label not in ("base", "sft", "grpo"):
            raise UserError(f"eval.models: unknown model {label!r}; use base, sft, grpo")
        path = layout.checkpoint(label, recipe.model)
        if label == "base" or is_model_dir(path):
            out.append((label, str(path)))
    return out


def run_eval_stage(recipe, resolved_path, resume: bool = True, fresh: bool = False) -> dict:
    """`funreason run`'s eval stage: every model of the run, resumable (finished entries are kept); `fresh` (from
    `funreason run --force eval`) moves earlier results aside first."""
    summary = {"recipe": str(resolved_path), "labels": {}}
    for label, path in models_to_evaluate(recipe):
        print(f"[eval] {label}: {path}")
        meta = evaluate_model(recipe, path, label, resume=resume and not fresh, fresh=fresh)
        summary["labels"][label] = {"model": path, "scores": meta["scores"], "wall_time_s": meta["wall_time_s"]}
    return summary
