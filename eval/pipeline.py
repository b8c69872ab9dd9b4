"""The eval stage: run BFCL tasks (multi-turn, single-turn, agentic) against the run's models, score them, record how.

    from funreason.eval.pipeline import run_eval_stage, evaluate_model
    summary = run_eval_stage(recipe, "runs/smoke/recipe.yaml")      # what `funreason run` calls
    evaluate_model(recipe, "runs/smoke/sft/final", label="sft", resume=True)

For each model (the recipe's `model` as `base`, then `<run_dir>/sft/final` and `<run_dir>/grpo/final` when they
exist and `eval.models` lists them) it writes `<run_dir>/eval/<label>/`:
    result/<label>/<group>/BFCL_v4_<cat>_result.json                   (BFCL's result rows: eval/bfcl_layout.py)
    score/...                                                          (eval.score: BFCL score files, diagnostics)
    metadata.json                                                      (model, format, sampling, tokens, provenance)
    identity.json                                                      (what the rows were made with; see below)
Steps: load every category's entries (multi-turn, single-turn, agentic), claim the label for this run identity
(eval/run_identity.py: another identity's rows are refused; `fresh` moves them aside), generate with the one
lockstep runner (eval/runner.py), score (eval/score.py), write metadata.json. `evaluate_model` holds the label
dir's stage lock (re-entrant: `funreason eval` and `funreason run` already hold it).
BFCL_PROJECT_ROOT is pointed inside the run dir (`<run_dir>/bfcl_root`), so bfcl_eval writes nothing
elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from funreason.core import provenance
from funreason.core.atomic import atomic_write_json
from funreason.core.errors import UserError
from funreason.core.jsonl import iter_jsonl
from funreason.core.layout import RunLayout
from funreason.core.lock import stage_lock
from funreason.core.modelfiles import check_tokenizer_files, is_model_dir, loading, require_model_dir
from funreason.core.sections.eval import EvalSection
from funreason.envs import bfcl
from funreason.envs.dispatch import set_default_limits
from funreason.eval import agentic_run, format_sensitivity
from funreason.eval import bfcl_layout as layout
from funreason.eval.backends import make_backend
from funreason.eval.run_identity import claim_label, run_identity
from funreason.eval.runner import PER_KIND, LockstepRunner
from funreason.eval.score import score_results
from funreason.eval.single_run import EXECUTABLE_NOTE, data_files, load_single_turn, split_categories
from funreason.eval.tasks import TaskSet, load_tasks


def set_bfcl_root(recipe) -> Path:
    return bfcl.set_project_root(RunLayout.of(recipe).bfcl_root)


def context_limit(model_path: str, section: EvalSection) -> int | None:
    if section.max_context is not None:
        return section.max_context
    from transformers import AutoConfig  # deferred: heavy (torch), and only without eval.max_context

    return getattr(AutoConfig.from_pretrained(model_path), "max_position_embeddings", None)


@dataclass
class EvalWork:
    """Everything one label runs: multi-turn tasks, single-turn entries, agentic entries (prereqs included)."""

    tasks: TaskSet
    single: dict[str, list[dict]]
    agentic: dict[str, list[dict]]
    agentic_categories: list[str]  # as the recipe names them (no prereq categories)

    def entries(self) -> dict[str, list[dict]]:
        return {**self.tasks.entries, **self.single, **self.agentic}

    def categories(self) -> list[str]:
        return list(self.tasks.entries) + list(self.single) + self.agentic_categories

    def __len__(self) -> int:
        return sum(map(len, self.entries().values()))


def load_work(recipe, section: EvalSection, model_result_dir: Path) -> EvalWork:
    """The recipe's categories' entries, filtered by eval.ids then eval.limit; a question file runs alone."""
    multi, single, agentic_cats = split_categories(section.categories)
    if layout.FORMAT_SENSITIVITY in single:
        format_sensitivity.require_prompting(recipe.chat.tool_format)
    if section.question_file:
        single, agentic_cats = [], []
    others = single or agentic_cats
    mt_ids = section.ids
    if others and section.ids is not None:
        mt_ids = [i for i in section.ids if i.startswith(layout.MULTI_TURN_PREFIX)]
    work = EvalWork(
        load_tasks(multi, mt_ids, section.limit, section.question_file, section.answer_file),
        load_single_turn(single, section.ids, section.limit),
        agentic_run.load_agentic(  # memory (+ prereqs), web search on a corpus
            agentic_cats, model_result_dir, section.ids, section.limit, section.web_search_corpus
        ),
        agentic_cats,
    )
    if section.ids is not None and others:
        missing = set(section.ids) - {e["id"] for es in work.entries().values() for e in es}
        if missing:
            raise UserError(f"eval.ids: no such entries in {section.categories}: {sorted(missing)[:5]}")
    return work


def evaluate_model(
    recipe, model_path: str, label: str, resume: bool = False, progress: bool = True, fresh: bool = False
) -> dict:
    """Run, score and describe one model in `<run_dir>/eval/<label>/`; returns the metadata written. Holds the
    label dir's lock; refuses another run identity (eval/run_identity.py); `fresh` moves old results aside."""
    out = RunLayout.of(recipe).eval_dir(label)
    with stage_lock(out, "funreason eval"):  # re-entrant: callers holding it already are fine
        return _evaluate_model(recipe, model_path, label, resume, progress, fresh)


def _evaluate_model(recipe, model_path: str, label: str, resume: bool, progress: bool, fresh: bool) -> dict:
    section: EvalSection = recipe.eval or EvalSection()
    out = _prepare(recipe, model_path, label)
    model_result_dir = out / "result" / layout.model_dir_name(label)
    work = load_work(recipe, section, model_result_dir)
    max_context = context_limit(model_path, section)
    identity = run_identity(
        recipe, section, model_path, work.tasks, max_context, list(work.single), work.agentic_categories
    )
    claim_label(out, label, identity, resume, fresh)
    t0 = time.time()
    stats, backend_info = generate(recipe, section, model_path, work, model_result_dir, max_context, resume, progress)
    scores = score_work(out, recipe, section, work)
    wall_time_s = round(time.time() - t0, 2)  # generation and scoring
    meta = describe(recipe, section, model_path, label, work, max_context, identity)
    meta |= outcome(stats, backend_info, model_result_dir, list(work.entries()))
    meta |= {"wall_time_s": wall_time_s, "scores": scores}
    atomic_write_json(out / "metadata.json", meta)
    return meta


def _prepare(recipe, model_path: str, label: str) -> Path:
    """Checks and settings before anything runs; the label's dir."""
    set_default_limits(getattr(recipe, "execution", None))  # every call this stage executes, live and in scoring
    # openai too: the prompt is rendered here, with the model's own tokenizer and chat template.
    require_model_dir(model_path)
    check_tokenizer_files(model_path)
    set_bfcl_root(recipe)
    out = RunLayout.of(recipe).eval_dir(label)
    out.mkdir(parents=True, exist_ok=True)
    return out


def generate(recipe, section, model_path, work: EvalWork, model_result_dir, max_context, resume, progress):
    """Every entry through one lockstep runner: (stats, the backend's description)."""
    from transformers import AutoTokenizer  # deferred: heavy (torch)

    with loading(model_path, "tokenizer"):
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    backend = make_backend(section, model_path, tokenizer, seed=recipe.seed)
    try:
        runner = LockstepRunner(
            backend,
            tokenizer,
            recipe.chat,
            max_new_tokens=section.max_new_tokens,
            max_context=max_context,
            in_flight=section.concurrency if section.backend == "openai" else section.batch_size,
            state_log=section.state_log,
            progress=progress,
        )
        stats = runner.run(work.entries(), model_result_dir, resume=resume)
        return stats, backend.describe()
    finally:
        backend.close()


def score_work(out: Path, recipe, section: EvalSection, work: EvalWork) -> dict:
    """BFCL's own categories are scored against the whole installed category (a limited run shows as partial);
    entries from a question file against that file and its answers."""
    if section.question_file and not section.answer_file:
        return {"error": "eval.question_file without eval.answer_file: results written, not scored"}
    given = work.tasks if section.question_file else None
    return score(out, recipe.chat.tool_format, work.categories(), given)


def describe(recipe, section: EvalSection, model_path: str, label: str, work: EvalWork, max_context, identity) -> dict:
    """metadata.json's account of what ran, with what, and from which data."""
    web_search = [c for c in work.agentic_categories if c in layout.WEB_SEARCH]
    corpus = [section.web_search_corpus] if web_search else []
    meta = {
        "label": label,
        "model": str(model_path),
        "tool_format": recipe.chat.tool_format,
        "chat": asdict(recipe.chat),
        "max_new_tokens": section.max_new_tokens,
        "max_context": max_context,
        "categories": work.categories(),
        "entries": len(work),
        "not_run": EXECUTABLE_NOTE,
        "provenance": provenance.collect(
            recipe,
            data_files=list(work.tasks.provenance["files"]) + [str(p) for p in data_files(list(work.single))] + corpus,
            extra=work.tasks.provenance,
        ),
        "identity": identity,
    }
    if web_search:  # the report labels these scores: a frozen corpus is not the live web
        meta["web_search_corpus"] = section.web_search_corpus
    return meta


def outcome(stats: dict, backend_info: dict, model_result_dir: Path, categories: list[str]) -> dict:
    """metadata.json's account of how the run went: backend and sampling, runner counts, token totals."""
    no_runs = dict.fromkeys(PER_KIND, 0)
    return {
        "sampling": {k: backend_info.get(k) for k in ("temperature", "top_p", "seed", "greedy")},
        "backend": backend_info,
        "run": stats,
        # the runner's counts for these kinds on their own, as earlier runs recorded them
        "run_single_turn": stats["kinds"].get("single_turn", no_runs),
        "run_agentic": stats["kinds"].get("agentic", no_runs),
        "token_counts": token_counts(model_result_dir, categories),
    }


def token_counts(model_result_dir: Path, categories: list[str]) -> dict:
    """Totals over the result files (so a resumed run counts the entries finished before the kill too)."""
    totals = {"prompt": 0, "completion": 0, "steps": 0, "inference_errors": 0}
    for cat in categories:
        path = layout.result_path(model_result_dir, cat)
        single = layout.kind_of(cat) == "single_turn"  # one step: counts are numbers, not lists of lists
        for _, row in iter_jsonl(path, bad_lines="keep") if path.is_file() else []:
            if not isinstance(row, dict):  # a torn line (BadLine): scoring names it
                continue
            if layout.is_inference_error(row.get("result")) or (not single and isinstance(row.get("result"), str)):
                totals["inference_errors"] += 1
                continue
            if single:
                totals["prompt"] += row.get("input_token_count", 0)
                totals["completion"] += row.get("output_token_count", 0)
                totals["steps"] += 1
            else:
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
