"""BFCL v4's agentic categories through our backends: memory (kv, vector, rec_sum, with their prerequisite
conversations) and web search (only against a frozen corpus), in BFCL's multi-turn loop, written in BFCL's layout.

    from funreason.eval.agentic_run import load_agentic
    from funreason.eval.runner import LockstepRunner
    entries = load_agentic(["memory_kv", "memory_rec_sum"], model_result_dir, ids=None, limit=8)
    stats = LockstepRunner(backend, tokenizer, chat_options).run(entries, model_result_dir, resume=True)
    # -> <model_dir>/agentic/memory/<backend>/BFCL_v4_memory_<backend>[_prereq]_result.json
    #    <model_dir>/agentic/memory/<backend>/memory_snapshot/{prereq_checkpoints/<id>.json, <scenario>_final.json}
    #    <model_dir>/agentic/BFCL_v4_web_search_<base|no_snippet>_result.json

What BFCL does (bfcl_eval 2026.3.23: utils.load_dataset_entry / process_memory_test_case /
populate_initial_settings_for_{memory,web_search}_test_cases, base_handler.inference_multi_turn_prompting,
_llm_response_generation's depends_on scheduling), and how it is reproduced here:
  - entries come from BFCL's own loader (questions with BFCL's agentic answer-format system message, prereq
    conversations without it), tools offered through `chat.tools.offered_docs` as for every other category;
  - each memory entry's backend is built with `{"model_result_dir", "scenario", "test_id", "test_category"}`: a
    scenario's first prereq starts empty, every later entry loads `<scenario>_final.json`;
  - once its instance exists, the entry's first turn gets BFCL's memory system prompt (the scenario's setting and
    the core-memory dump; rec_sum's unified variant), prepended to a system message already there;
  - the loop is the multi-turn episode's (`eval.multi_turn`, each step a `chat.step.take_step` through the
    dispatcher), driven by the one lockstep runner (`eval.runner`);
  - a prereq that finishes without an inference error flushes its memory (`_flush_memory_to_local_file`: its own
    checkpoint and the scenario's `_final.json`); a question never writes memory;
  - scheduling: each entry's `depends_on` (BFCL's field, a prereq's widened from its predecessor to all of them)
    lists the prereqs of its (backend, scenario) chain that come before it (a question: the whole chain); the runner starts an entry once those have rows,
    so a chain runs in order, chains side by side, and a scenario's questions together after it. When an entry
    starts, `_final.json` is reset to the newest checkpoint of those prereqs, so a resumed run continues exactly
    where the killed one was (a prereq killed after its flush but before its row is rerun from the state before
    it).
Only scenarios with a kept question run their prereqs (BFCL's clean_up_memory_prereq_entries drops unused ones).
The memory score depends on what the same model wrote during its prereqs; prereq rows are written, never scored.

Web search: the live SerpAPI backend is never used. `envs.bfcl` builds `envs.web_corpus.FrozenWebSearchAPI` from
the corpus the recipe names (`eval.web_search_corpus`); without one, web search categories are refused.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from funreason.chat.tools import offered_docs
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.eval import bfcl_layout as layout
from funreason.eval.multi_turn import MultiTurnEpisode
from funreason.eval.tasks import category_of

NO_CORPUS = (
    "web search needs the live web; `funreason eval` runs it only against a frozen corpus: set "
    "eval.web_search_corpus (JSONL pages, envs/web_corpus.py); its scores are labelled not comparable"
)


def _memory_prompts():
    bfcl.ensure_project_root()
    from bfcl_eval.constants import default_prompts

    return default_prompts


def memory_system_prompt(question: list[list[dict]], category: str, scenario: str, core_memory: str) -> list:
    """BFCL's `add_memory_instruction_system_prompt` on a copy of `question` (model_handler/utils.py)."""
    prompts = _memory_prompts()
    template = (
        prompts.MEMORY_BACKEND_INSTRUCTION_UNIFIED
        if "rec_sum" in category
        else prompts.MEMORY_BACKEND_INSTRUCTION_CORE_ARCHIVAL
    )
    system = template.format(scenario_setting=prompts.MEMORY_AGENT_SETTINGS[scenario], memory_content=core_memory)
    question = copy.deepcopy(question)
    first = question[0]
    if first and first[0]["role"] == "system":
        first[0]["content"] = system + "\n\n" + first[0]["content"]
    else:
        first.insert(0, {"role": "system", "content": system})
    return question


def load_agentic(
    categories: list[str],
    model_result_dir: str | Path,
    ids: list[str] | None = None,
    limit: int | None = None,
    web_search_corpus: str | None = None,
) -> dict[str, list[dict]]:
    """{category: entries}, memory prereq categories (`memory_kv_prereq`) first, with BFCL's initial configs and
    each memory entry's `depends_on` (the prereqs of its chain before it).

    `ids` then `limit` select questions per category (BFCL's order); the prereqs of every scenario that keeps a
    question come along, in chain order."""
    utils = bfcl._bfcl("utils")
    model_result_dir = Path(model_result_dir)
    out_prereq: dict[str, list[dict]] = {}
    out: dict[str, list[dict]] = {}
    for cat in categories:
        _check_category(cat, web_search_corpus)
        loaded = utils.load_dataset_entry(cat, include_prereq=True, include_language_specific_hint=False)
        questions = [e for e in loaded if not layout.is_prereq(e["id"])]
        if ids is not None:
            wanted = set(ids)
            questions = [e for e in questions if e["id"] in wanted]
        questions = questions[:limit] if limit is not None else questions
        for e in questions:
            e["function"] = offered_docs(e["function"])
            cls = e["involved_classes"][0]
            if cat in layout.MEMORY:
                e["initial_config"] = {cls: _memory_config(model_result_dir, e)}
            else:
                e["initial_config"] = {cls: {"show_snippet": "no_snippet" not in e["id"], "corpus": web_search_corpus}}
        out[cat] = questions
        if cat in layout.MEMORY:
            prereqs = _prereqs(loaded, questions, model_result_dir)
            if prereqs:
                out_prereq[cat + layout.PREREQ] = prereqs
    return {**out_prereq, **out}


def _check_category(cat: str, web_search_corpus: str | None) -> None:
    if cat not in layout.AGENTIC:
        raise UserError(f"unknown BFCL agentic category {cat!r}; expected one of {list(layout.AGENTIC)}")
    if cat in layout.WEB_SEARCH and not web_search_corpus:
        raise UserError(f"eval.categories: {cat!r}: {NO_CORPUS}")
    if cat == "memory_vector":
        from funreason.envs.embedding import (
            packaged_model_dir,  # the optional `agentic` extra: only memory_vector needs it
        )

        packaged_model_dir()  # one line naming the install command when the embedding model is missing


def _prereqs(loaded: list[dict], questions: list[dict], model_result_dir: Path) -> list[dict]:
    """The prereq conversations of the questions' scenarios, in chain order, each with its config; every prereq and
    question gets `depends_on`: the ids of its chain's prereqs before it."""
    scenarios = {e["scenario"] for e in questions}
    prereqs = [e for e in loaded if layout.is_prereq(e["id"]) and _scenario_of(e["id"]) in scenarios]
    chains: dict[str, list[str]] = {}
    for e in prereqs:
        e["function"] = offered_docs(e["function"])
        e["scenario"] = _scenario_of(e["id"])
        e["initial_config"] = {e["involved_classes"][0]: _memory_config(model_result_dir, e)}
        chain = chains.setdefault(e["scenario"], [])
        e["depends_on"] = list(chain)
        chain.append(e["id"])
    for e in questions:
        e["depends_on"] = list(chains.get(e["scenario"], []))
    return prereqs


def _scenario_of(entry_id: str) -> str:
    """`memory_kv_prereq_22-student-0` -> `student` (prereq rows carry a topic, not a scenario)."""
    return entry_id.rsplit("-", 2)[1]


def _memory_config(model_result_dir: Path, entry: dict) -> dict:
    """bfcl_eval.utils.populate_initial_settings_for_memory_test_cases."""
    return {
        "model_result_dir": model_result_dir,
        "scenario": entry["scenario"],
        "test_id": entry["id"],
        "test_category": category_of(entry["id"]),
    }


class AgenticEpisode(MultiTurnEpisode):
    """A BFCL entry of an agentic category: memory reset to what its chain's prereqs left before its backend is
    built, the memory system prompt before the first turn, and a prereq's memory flushed when it finishes without
    an inference error (BFCL's inference_multi_turn_prompting)."""

    @classmethod
    def begin(cls, model_result_dir: Path, categories: list[str], resume: bool) -> None:
        if not resume:
            clear(model_result_dir, categories)

    def start(self) -> None:
        if layout.base_category(self.category) in layout.MEMORY:
            config = next(iter(self.entry["initial_config"].values()))  # the memory backend's: where it persists
            _reset_final(config["model_result_dir"], self.category, self.entry["scenario"], self.entry["depends_on"])
        super().start()

    def prepare(self) -> None:
        if "memory" not in self.category:
            return
        if len(self.instances) != 1:
            raise ValueError(f"{self.id}: a memory entry involves exactly one class")
        memory = next(iter(self.instances.values()))
        question = memory_system_prompt(
            self.entry["question"], self.category, self.entry["scenario"], memory._dump_core_memory_to_context()
        )
        self.entry = {**self.entry, "question": question}

    def _end_turn(self, force_quit: bool = False) -> None:
        super()._end_turn(force_quit)
        if self.done and self.error is None and layout.is_prereq(self.id):
            next(iter(self.instances.values()))._flush_memory_to_local_file()


def _reset_final(model_result_dir: Path, category: str, scenario: str, finished: list[str]) -> None:
    """`<scenario>_final.json` := the checkpoint of the newest finished prereq that flushed one (none: removed)."""
    folder = layout.snapshot_dir(model_result_dir, category)
    final = folder / f"{scenario}_final.json"
    for entry_id in reversed(finished):
        checkpoint = folder / "prereq_checkpoints" / f"{entry_id}.json"
        if checkpoint.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, final)
            return
    final.unlink(missing_ok=True)


def clear(model_result_dir: str | Path, categories: list[str]) -> None:
    """Remove the result files and memory snapshots of these categories (a fresh, non-resumed run)."""
    for cat in categories:
        layout.result_path(model_result_dir, cat).unlink(missing_ok=True)
        if layout.base_category(cat) in layout.MEMORY:
            shutil.rmtree(layout.snapshot_dir(model_result_dir, cat), ignore_errors=True)
