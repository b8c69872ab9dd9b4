"""The eval stage: run BFCL tasks (multi-turn, single-turn, agentic) against the run's models, score them, record how.

    from eval.pipeline import run_eval_stage, evaluate_model
    summary = run_eval_stage(recipe, "runs/smoke/recipe.yaml")      # what `funreason run` calls
    evaluate_model(recipe, "runs/smoke/sft/final", label="sft", resume=True)

For each model (the recipe's `model` as `base`, then `<run_dir>/sft/final` and `<run_dir>/grpo/final` when they
exist and `eval.models` lists them) it writes `<run_dir>/eval/<label>/`:
    result/<label>/multi_turn/BFCL_v4_multi_turn_<cat>_result.json    (BFCL's result rows)
    score/...                                                          (eval.score: BFCL score files, diagnostics)
    metadata.json                                                      (model, format, sampling, tokens, provenance)
BFCL_PROJECT_ROOT is pointed inside the run dir (`<run_dir>/bfcl_root`), so bfcl_eval writes nothing
elsewhere.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from core import provenance
from core.atomic import atomic_write_json
from core.errors import UserError
from core.layout import RunLayout
from core.modelfiles import check_tokenizer_files, is_model_dir, loading, require_model_dir
from core.sections.eval import EvalSection
from envs import bfcl
from eval import agentic_run
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


def evaluate_model(recipe, model_path: str, label: str, resume: bool = False, progress: bool = True) -> dict:
    """Run, score and describe one model in `<run_dir>/eval/<label>/`; returns the metadata written."""
    from transformers import AutoTokenizer  # deferred: heavy (torch)

    section: EvalSection = recipe.eval or EvalSection()
    # openai too: the prompt is rendered here, with the model's own tokenizer and chat template.
    require_model_dir(model_path)
    check_tokenizer_files(model_path)
    set_bfcl_root(recipe)
    out = RunLayout.of(recipe).eval_dir(label)
    out.mkdir(parents=True, exist_ok=True)
    multi, single, agentic_cats = split_categories(section.categories)  # eval.single_run
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
    with loading(model_path, "tokenizer"):
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    max_context = context_limit(model_path, section)
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
            hermes_holdout=section.hermes_holdout,
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
            in_flight=runner.in_flight, hermes_holdout=section.hermes_holdout, state_log=section.state_log,
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
        for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
            row = json.loads(line)
            if isinstance(row.get("result"), str) and row["result"].startswith("Error during inference"):
                totals["inference_errors"] += 1
                continue
            totals["prompt"] += row.get("input_token_count", 0)
            totals["completion"] += row.get("output_token_count", 0)
            totals["steps"] += 1
    for path in [result_file(model_result_dir, cat) for cat in categories] + list(paths):  # multi-turn layout rows
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
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


def run_eval_stage(recipe, resolved_path, resume: bool = True) -> dict:
    """`funreason run`'s eval stage: every model of the run, resumable (finished entries are kept)."""
    summary = {"recipe": str(resolved_path), "labels": {}}
    for label, path in models_to_evaluate(recipe):
        print(f"[eval] {label}: {path}")
        meta = evaluate_model(recipe, path, label, resume=resume)
        summary["labels"][label] = {"model": path, "scores": meta["scores"], "wall_time_s": meta["wall_time_s"]}
    return summary
