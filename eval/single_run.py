"""BFCL's single-turn categories as episodes of the lockstep runner (eval/runner.py): one generation per entry.

    from funreason.eval.runner import LockstepRunner
    from funreason.eval.single_run import split_categories, load_single_turn
    multi, single, agentic = split_categories(["base", "simple_python", "live_irrelevance", "memory_kv"])
    entries = load_single_turn(single, ids=None, limit=8)            # {category: [BFCL entry, ...]}
    stats = LockstepRunner(backend, tokenizer, chat_options, in_flight=64).run(entries, result_dir / "my_model")
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

from dataclasses import replace
from pathlib import Path

from funreason.chat.messages import split_think
from funreason.chat.render import render_prompt
from funreason.chat.single_turn import case_messages, functions_for
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval import bfcl_layout as layout
from funreason.eval import format_sensitivity, single_turn
from funreason.eval.backends import Generation, GenRequest, generation_budget
from funreason.eval.episode import Episode

EXECUTABLE_NOTE = "executable categories are not run: they call live services (BFCL retired them from its scores)"


def split_categories(categories: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(multi-turn, single-turn (v4 names), agentic) categories, in the order given; executable ones refused."""
    multi, single, agentic_cats = [], [], []
    for cat in categories:
        if cat in layout.EXECUTABLE or cat.startswith("exec_"):
            raise UserError(f"eval.categories: {cat!r}: {EXECUTABLE_NOTE}")
        kind = layout.kind_of(cat)
        if kind == "single_turn":
            single.append(layout.V3_NAMES.get(cat, cat))
        elif kind == "agentic" and not layout.is_prereq(cat):
            agentic_cats.append(cat)
        else:
            multi.append(cat)
    return multi, single, agentic_cats


def load_single_turn(categories: list[str], ids: list[str] | None = None, limit: int | None = None) -> dict:
    """{category: entries} from the installed BFCL data (file order), filtered by `ids` then `limit` per category.
    Entries are BFCL's as loaded (no hint): `chat.single_turn.functions_for` adds it when the prompt is made."""
    out: dict[str, list[dict]] = {}
    for cat in categories:
        fs = cat == layout.FORMAT_SENSITIVITY
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
    if layout.FORMAT_SENSITIVITY in cats:  # its ids file, then the files of the categories its cases come from
        files.append(format_sensitivity.ids_file())
        cats.remove(layout.FORMAT_SENSITIVITY)
        cats += format_sensitivity.source_categories()
    for cat in dict.fromkeys(cats):
        files.append(Path(PROMPT_PATH) / layout.data_file_name(cat))
        if not single_turn.is_relevance(cat):
            files.append(Path(POSSIBLE_ANSWER_PATH) / layout.data_file_name(cat))
    return files


def single_turn_request(entry: dict, runner) -> GenRequest | str:
    """The entry's prompt, or the error text when it does not fit the context."""
    if format_sensitivity.is_case(entry["id"]):  # its config's system prompt holds the docs: no tools
        messages = case_messages(entry, runner.options.system_prompt)
        rendered = render_prompt(runner.tokenizer, messages, None, replace(runner.options, system_prompt=None))
    else:
        rendered = render_prompt(runner.tokenizer, list(entry["question"][0]), functions_for(entry), runner.options)
    ids = list(rendered.ids)
    budget = generation_budget(len(ids), runner.max_new_tokens, runner.max_context)
    if isinstance(budget, str):
        return budget
    return GenRequest((entry["id"], 0, 0), rendered.text, ids, budget)


class SingleTurnEpisode(Episode):
    """A single-turn entry: an episode of one step, whose row holds the one reply."""

    gen: Generation | None = None

    def request(self) -> GenRequest | None:
        req = single_turn_request(self.entry, self.r)
        if isinstance(req, str):
            self.fail(req)
            return None
        return req

    def advance(self, gen: Generation) -> None:
        if gen.error is not None:
            self.fail(gen.error)
            return
        self.gen = gen
        self.done = True

    def row(self) -> dict:
        if self.error is not None:
            return {"id": self.id, "result": layout.inference_error(self.error)}
        gen = self.gen
        reasoning, response = split_think(gen.text)
        row = {
            "id": self.id,
            "result": response,
            "input_token_count": gen.prompt_tokens,
            "output_token_count": gen.completion_tokens,
            "latency": gen.latency,
        }
        if reasoning:
            row["reasoning_content"] = reasoning
        return row
