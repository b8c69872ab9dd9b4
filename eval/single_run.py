"""BFCL's single-turn categories through our backends: one generation per entry, batched, written as BFCL result files.

    from eval.single_run import split_categories, load_single_turn, SingleTurnRunner
    multi, single, agentic = split_categories(["base", "simple_python", "live_irrelevance", "memory_kv"])
    entries = load_single_turn(single, ids=None, limit=8)            # {category: [BFCL entry, ...]}
    stats = SingleTurnRunner(backend, tokenizer, chat_options, max_new_tokens=4096, in_flight=64).run(
        entries, result_dir / "my_model", resume=True)
    # -> <model_dir>/{non_live,live,format_sensitivity}/BFCL_v4_<category>_result.json, what `funreason score` reads

The prompt is BFCL's for the recipe's format (`chat.single_turn`): the entry's docs with BFCL's language hint
(Java/JavaScript parameter types as strings), pythonic with BFCL's default prompting system prompt (prepended to a
system message the question carries), hermes with the raw docs in Qwen's <tools> block as BFCL's QwenFC handler
sends them; rendered through `chat.render.render_prompt` like every other prompt. `format_sensitivity` (5,200 cases:
200 questions x 26 system-prompt configs, eval/format_sensitivity.py) runs in the pythonic format only, as BFCL runs
it for prompting models only: each case's system prompt is its config's (`chat.single_turn.case_messages`), the
recipe's chat.system_prompt after it, and the template gets no tools. A row is BFCL's
`{"id", "result", "input_token_count", "output_token_count", "latency"[, "reasoning_content"]}` with `result` the
text after the last `</think>` (BFCL's Qwen handlers); a prompt that does not fit the context, or a request that
fails for good, is an "Error during inference: ..." row. Scoring is `funreason score`'s (eval/single_turn.py).

Executable categories (exec_*, rest, sql, chatable) are refused: they call live services, and BFCL retired them.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from chat.messages import split_think
from chat.render import render_prompt
from chat.single_turn import case_messages, functions_for
from core.errors import UserError
from envs import bfcl
from eval import agentic, format_sensitivity, single_turn
from eval.backends import Backend, GenRequest, generation_budget
from eval.runner import ResultWriter  # the multi-turn runner's resumable writer: same guarantees
from eval.score import result_file_name

EXECUTABLE = ("exec_simple", "exec_multiple", "exec_parallel", "exec_parallel_multiple", "rest", "sql", "chatable")
EXECUTABLE_NOTE = "executable categories are not run: they call live services (BFCL retired them from its scores)"


def split_categories(categories: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(multi-turn, single-turn (v4 names), agentic) categories, in the order given; executable ones refused."""
    multi, single, agentic_cats = [], [], []
    for cat in categories:
        if cat in EXECUTABLE or cat.startswith("exec_"):
            raise UserError(f"eval.categories: {cat!r}: {EXECUTABLE_NOTE}")
        if cat in single_turn.CATEGORIES or cat in single_turn.V3_NAMES:
            single.append(single_turn.category_name(cat))
        elif cat == format_sensitivity.CATEGORY:
            single.append(cat)
        elif cat in agentic.CATEGORIES:
            agentic_cats.append(cat)
        else:
            multi.append(cat)
    return multi, single, agentic_cats


def result_path(model_result_dir: str | Path, category: str) -> Path:
    return Path(model_result_dir) / single_turn.group_of(category) / result_file_name(category)


def load_single_turn(categories: list[str], ids: list[str] | None = None, limit: int | None = None) -> dict:
    """{category: entries} from the installed BFCL data (file order), filtered by `ids` then `limit` per category.
    Entries are BFCL's as loaded (no hint): `chat.single_turn.functions_for` adds it when the prompt is made."""
    out: dict[str, list[dict]] = {}
    for cat in categories:
        fs = cat == format_sensitivity.CATEGORY
        name = cat if fs else single_turn.category_name(cat)
        kept = list((format_sensitivity.load_cases() if fs else single_turn.load_category(name)[0]).values())
        if ids is not None:
            wanted = set(ids)
            kept = [e for e in kept if e["id"] in wanted]
        out[name] = kept[:limit] if limit is not None else kept
    return out


def data_files(categories: list[str]) -> list[Path]:
    """The installed BFCL question (and answer) files of these categories, for provenance."""

    bfcl.ensure_project_root()
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH

    files, cats = [], list(categories)
    if format_sensitivity.CATEGORY in cats:  # its ids file, then the files of the categories its cases come from
        files.append(format_sensitivity.ids_file())
        cats.remove(format_sensitivity.CATEGORY)
        cats += format_sensitivity.source_categories()
    for cat in dict.fromkeys(cats):
        files.append(Path(PROMPT_PATH) / f"BFCL_v4_{cat}.json")
        if not single_turn.is_relevance(cat):
            files.append(Path(POSSIBLE_ANSWER_PATH) / f"BFCL_v4_{cat}.json")
    return files


class SingleTurnRunner:
    def __init__(
        self,
        backend: Backend,
        tokenizer,
        options,
        max_new_tokens: int = 4096,
        max_context: int | None = None,
        in_flight: int = 8,
        progress: bool = True,
    ):
        self.backend = backend
        self.tokenizer = tokenizer
        self.options = options
        self.max_new_tokens = max_new_tokens
        self.max_context = max_context
        self.in_flight = max(1, in_flight)
        self.progress = progress

    def request(self, entry: dict) -> GenRequest | str:
        """The entry's prompt, or the error text when it does not fit the context."""
        if format_sensitivity.is_case(entry["id"]):  # its config's system prompt holds the docs: no tools
            messages = case_messages(entry, self.options.system_prompt)
            rendered = render_prompt(self.tokenizer, messages, None, replace(self.options, system_prompt=None))
        else:
            rendered = render_prompt(self.tokenizer, list(entry["question"][0]), functions_for(entry), self.options)
        ids = list(rendered.ids)
        budget = generation_budget(len(ids), self.max_new_tokens, self.max_context)
        if isinstance(budget, str):
            return budget
        return GenRequest((entry["id"], 0, 0), rendered.text, ids, budget)

    def run(self, entries: dict[str, list[dict]], model_result_dir: str | Path, resume: bool = False) -> dict:
        """Generate every entry's answer and write the category result files; returns counts and tokens."""

        writers = {cat: ResultWriter(result_path(model_result_dir, cat), resume) for cat in entries}
        todo = deque((cat, e) for cat, es in entries.items() for e in es if e["id"] not in writers[cat].rows)
        remaining = {cat: sum(e["id"] not in writers[cat].rows for e in es) for cat, es in entries.items()}
        total = sum(len(es) for es in entries.values())
        stats = {"entries": total, "skipped_done": total - len(todo), "batches": 0, "errors": 0}
        stats.update(prompt_tokens=0, completion_tokens=0)
        t0 = time.perf_counter()
        bar = tqdm(total=total, initial=total - len(todo), desc="eval single-turn", disable=not self.progress)

        def write(cat: str, row: dict) -> None:
            writers[cat].append(row)
            remaining[cat] -= 1
            stats["errors"] += isinstance(row["result"], str) and row["result"].startswith("Error during inference")
            bar.update(1)
            if remaining[cat] == 0:
                writers[cat].finish()

        for cat in entries:
            if remaining[cat] == 0:
                writers[cat].finish()
        try:
            while todo:
                batch: list[tuple[str, dict, GenRequest]] = []
                while todo and len(batch) < self.in_flight:
                    cat, entry = todo.popleft()
                    try:
                        req = self.request(entry)
                    except Exception as e:  # a broken entry fails alone, as in BFCL
                        req = f"{type(e).__name__}: {e}"
                    if isinstance(req, str):
                        write(cat, {"id": entry["id"], "result": f"Error during inference: {req}"})
                    else:
                        batch.append((cat, entry, req))
                if not batch:
                    continue
                gens = self.backend.generate([req for _, _, req in batch])
                stats["batches"] += 1
                for (cat, entry, _), gen in zip(batch, gens):
                    if gen.error is not None:
                        write(cat, {"id": entry["id"], "result": f"Error during inference: {gen.error}"})
                        continue
                    stats["prompt_tokens"] += gen.prompt_tokens
                    stats["completion_tokens"] += gen.completion_tokens
                    reasoning, response = split_think(gen.text)
                    row = {
                        "id": entry["id"],
                        "result": response,
                        "input_token_count": gen.prompt_tokens,
                        "output_token_count": gen.completion_tokens,
                        "latency": gen.latency,
                    }
                    if reasoning:
                        row["reasoning_content"] = reasoning
                    write(cat, row)
        finally:
            bar.close()
        stats["wall_s"] = round(time.perf_counter() - t0, 3)
        return stats
