"""BFCL's multi-turn inference loop, run in lockstep over many entries, writing BFCL result files.

    from eval.runner import MultiTurnRunner
    runner = MultiTurnRunner(backend, tokenizer, chat_options, max_new_tokens=4096, max_context=40960, in_flight=64)
    stats = runner.run(tasks.entries, result_dir / "my_model", resume=True)
    # -> <result_dir>/my_model/multi_turn/BFCL_v4_multi_turn_<category>_result.json, one JSON row per entry

The loop is BFCL's `inference_multi_turn_prompting` (bfcl_eval/model_handler/base_handler.py), step for step:
  - user turns in order; a miss_func holdout turn (empty in the data) is announced as BFCL does
    (`chat.holdout.holdout_turn`, the one rendering SFT and RL use too; `chat.hermes_holdout` picks the hermes form);
  - each turn runs steps: generate, then one `chat.step.take_step` (the step the GRPO rollout takes too): append
    the assistant message, decode; an empty or undecodable reply ends the turn; otherwise the calls run (envs
    Dispatcher over fresh instances per entry from `envs.resolve`: BFCL classes or `module:Class`), their results
    are fed back in order, and the step count goes up.
    Past MAXIMUM_STEP_LIMIT (20) tool-emitting steps the entry is force-quit: the turn ends and all remaining
    turns are skipped;
  - raw replies are kept as result[turn][step] (the text after `</think>`, as BFCL's Qwen handlers keep it), with
    per-step input/output token counts and latency, reasoning_content and an inference_log.
Lockstep: every entry in flight advances together; each tick gathers the pending prompt of every active entry and
hands them to the backend as one batch. A prompt that does not fit the context, or a request that fails for good,
makes that entry an "Error during inference: ..." row (BFCL's inference_error); the other entries go on.
Rows are appended entry by entry with fsync, so `resume=True` continues after a kill without redoing finished
entries; a torn last line is dropped. When a category completes its file is rewritten sorted by id (atomically).
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections import deque
from pathlib import Path

from tqdm.auto import tqdm

from chat.holdout import holdout_turn
from chat.render import render_prompt
from chat.step import DECODE_ERROR, NO_CALLS, take_step
from core.atomic import atomic_write_text
from core.jsonl import iter_jsonl, jsonable
from envs import bfcl
from envs.base import public_state
from envs.dispatch import Dispatcher
from envs.resolve import make_instances
from eval.backends import Backend, Generation, GenRequest, generation_budget
from eval.tasks import category_of

MAXIMUM_STEP_LIMIT = 20  # bfcl_eval.constants.default_prompts.MAXIMUM_STEP_LIMIT
VERSION_PREFIX = "BFCL_v4"
STATELESS_CLASSES = ("MathAPI",)  # bfcl_eval.constants.executable_backend_config: no state worth logging
# ... and OMIT_STATE_INFO_CLASSES: stateful, but BFCL keeps their state out of the inference log (memory snapshots)
OMIT_STATE_INFO_CLASSES = ("MemoryAPI_kv", "MemoryAPI_vector", "MemoryAPI_rec_sum", "WebSearchAPI")


def result_file(model_result_dir: str | Path, category: str) -> Path:
    return Path(model_result_dir) / "multi_turn" / f"{VERSION_PREFIX}_multi_turn_{category}_result.json"


def model_dir_name(label: str) -> str:
    """BFCL's result directory name for a model: '/' becomes '_'."""
    return label.replace("/", "_")


class ResultWriter:
    """Append-only JSONL result file: one fsynced row per finished entry; resumable; sorted on completion."""

    def __init__(self, path: Path, resume: bool):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, dict] = {}
        if resume and path.exists():
            for _, row in iter_jsonl(path, bad_lines="keep"):  # a BadLine: the torn tail of a killed run
                if isinstance(row, dict) and "id" in row:
                    self.rows[row["id"]] = row
        self._rewrite(sort=False)  # drops a torn line (or starts afresh without resume)
        self._f = open(path, "a", encoding="utf-8")

    def _rewrite(self, sort: bool) -> None:
        rows = (
            sorted(self.rows.values(), key=lambda r: bfcl.entry_sort_key(r["id"])) if sort else list(self.rows.values())
        )
        atomic_write_text(self.path, "".join(json.dumps(row, default=str) + "\n" for row in rows))

    def append(self, row: dict) -> None:
        self.rows[row["id"]] = row
        self._f.write(json.dumps(row, default=str) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def finish(self) -> None:
        self._f.close()
        self._rewrite(sort=True)


class BfclEpisode:
    """One BFCL entry going through BFCL's loop; `request()` gives its pending prompt, `advance()` consumes a reply
    (one `chat.step.take_step`, executed through this entry's own fresh environment instances)."""

    def __init__(self, entry: dict, runner: MultiTurnRunner):
        self.entry = entry
        self.id = entry["id"]
        self.category = category_of(self.id)
        self.r = runner
        self.instances = make_instances(
            entry.get("initial_config", {}), entry["involved_classes"], long_context="long_context" in self.category
        )
        self.dispatcher = Dispatcher(self.instances)
        self.tools: list[dict] = list(entry.get("function", []))
        self.holdout: dict = entry.get("missed_function") or {}
        self.messages: list[dict] = []
        self.turn = -1
        self.step = 0
        self.done = False
        self.error: str | None = None
        self.error_trace = ""
        self.result: list[list[str]] = []
        self.reasoning: list[list[str]] = []
        self.in_tok: list[list[int]] = []
        self.out_tok: list[list[int]] = []
        self.latency: list[list[float]] = []
        self.log: list = []
        self.prepare()
        self._log_state()
        self._next_turn()

    def prepare(self) -> None:
        """Hook run once the instances exist, before the first turn (eval.agentic_run: the memory system prompt)."""

    # --- BFCL loop ------------------------------------------------------------------------------------------
    def _log_state(self) -> None:
        if not self.r.state_log:
            return
        states = [
            {"role": "state_info", "class_name": name, "content": jsonable(public_state(inst))}
            for name, inst in self.instances.items()
            if name not in STATELESS_CLASSES and name not in OMIT_STATE_INFO_CLASSES
        ]
        if states:
            self.log.append(states)

    def _next_turn(self) -> None:
        self.turn += 1
        questions = self.entry["question"]
        if self.turn >= len(questions):
            self.done = True
            return
        user = list(questions[self.turn])
        held = self.holdout.get(str(self.turn))
        if held is not None:
            if user:
                raise ValueError(f"{self.id}: holdout turn {self.turn} must be empty in the data")
            self.tools, message = holdout_turn(self.tools, list(held), self.r.options)
            user = [message]
        self.messages.extend(user)
        self.step = 0
        self.result.append([])
        self.reasoning.append([])
        self.in_tok.append([])
        self.out_tok.append([])
        self.latency.append([])
        self.turn_log: dict = {"begin_of_turn_query": user}
        self.log.append(self.turn_log)

    def _end_turn(self, force_quit: bool = False) -> None:
        self._log_state()
        if force_quit:
            self.done = True
        else:
            self._next_turn()

    def request(self) -> GenRequest | None:
        """The prompt for the next step, or None (and the entry errored) when it does not fit the context."""
        rendered = render_prompt(self.r.tokenizer, self.messages, self.tools, self.r.options)
        ids = list(rendered.ids)
        budget = generation_budget(len(ids), self.r.max_new_tokens, self.r.max_context)
        if isinstance(budget, str):
            self.fail(budget)
            return None
        return GenRequest((self.id, self.turn, self.step), rendered.text, ids, budget)

    def advance(self, gen: Generation) -> None:
        if gen.error is not None:
            self.fail(gen.error)
            return
        step = take_step(gen.text, self.r.options, self.tools, self.dispatcher.execute_all)
        self.result[-1].append(step.response)
        self.reasoning[-1].append(step.reasoning)
        self.in_tok[-1].append(gen.prompt_tokens)
        self.out_tok[-1].append(gen.completion_tokens)
        self.latency[-1].append(gen.latency)
        step_log: list[dict] = [{"role": "assistant", "content": step.response}]
        if step.reasoning:
            step_log[0]["reasoning_content"] = step.reasoning
        self.turn_log[f"step_{self.step}"] = step_log
        self.messages.append(step.assistant_message)
        if step.verdict == DECODE_ERROR:
            step_log.append(
                {
                    "role": "handler_log",
                    "content": "Error decoding the model response. Proceed to next turn.",
                    "error": step.parsed.error,
                }
            )
            self._end_turn()
            return
        if step.verdict == NO_CALLS:
            step_log.append(
                {
                    "role": "handler_log",
                    "content": "Empty response from the model. Proceed to next turn.",
                    "model_response_decoded": step.decoded,
                }
            )
            self._end_turn()
            return
        step_log.append(
            {
                "role": "handler_log",
                "content": "Successfully decoded model response.",
                "model_response_decoded": step.decoded,
            }
        )
        self.messages.extend(step.tool_messages)
        step_log.extend({"role": "tool", "content": res} for res in step.results)
        self.step += 1
        if self.step > MAXIMUM_STEP_LIMIT:
            step_log.append(
                {
                    "role": "handler_log",
                    "content": f"Model has been forced to quit after {MAXIMUM_STEP_LIMIT} steps.",
                }
            )
            self._end_turn(force_quit=True)

    def fail(self, message: str, trace: str = "") -> None:
        self.error = message
        self.error_trace = trace
        self.done = True

    def row(self) -> dict:
        if self.error is not None:
            return {"id": self.id, "result": f"Error during inference: {self.error}", "traceback": self.error_trace}
        row = {
            "id": self.id,
            "result": self.result,
            "input_token_count": self.in_tok,
            "output_token_count": self.out_tok,
            "latency": self.latency,
            "inference_log": self.log,
        }
        if any(any(x for x in turn) for turn in self.reasoning):
            row["reasoning_content"] = self.reasoning
        return row


class MultiTurnRunner:
    episode_class = BfclEpisode  # eval.agentic_run's memory runner swaps in its own episode

    def result_path(self, model_result_dir: str | Path, category: str) -> Path:
        return result_file(model_result_dir, category)

    def __init__(
        self,
        backend: Backend,
        tokenizer,
        options,
        max_new_tokens: int = 4096,
        max_context: int | None = None,
        in_flight: int = 8,
        state_log: bool = True,
        progress: bool = True,
    ):
        self.backend = backend
        self.tokenizer = tokenizer
        self.options = options
        self.max_new_tokens = max_new_tokens
        self.max_context = max_context
        self.in_flight = max(1, in_flight)
        self.state_log = state_log
        self.progress = progress

    def _guard(self, ep: BfclEpisode, fn, *args):
        """BFCL turns any exception during one entry's inference into that entry's inference error."""
        try:
            return fn(*args)
        except Exception as e:
            ep.fail(f"{type(e).__name__}: {e}", traceback.format_exc())
            return None

    def run(
        self, entries: dict[str, list[dict]] | list[dict], model_result_dir: str | Path, resume: bool = False
    ) -> dict:
        """Run every entry (grouped by category, or a flat list) and write the category result files."""
        if isinstance(entries, list):
            grouped: dict[str, list[dict]] = {}
            for e in entries:
                grouped.setdefault(category_of(e["id"]), []).append(e)
            entries = grouped
        writers = {cat: ResultWriter(self.result_path(model_result_dir, cat), resume) for cat in entries}
        remaining = {cat: {e["id"] for e in es} - set(writers[cat].rows) for cat, es in entries.items()}
        todo = deque(e for cat, es in entries.items() for e in es if e["id"] in remaining[cat])
        total = sum(len(es) for es in entries.values())
        stats = {"entries": total, "skipped_done": total - len(todo), "ticks": 0, "steps": 0, "errors": 0}
        stats.update(prompt_tokens=0, completion_tokens=0, max_batch=0)
        t0 = time.perf_counter()
        active: list[BfclEpisode] = []
        bar = tqdm(total=total, initial=total - len(todo), desc="eval", unit="entry", disable=not self.progress)

        def finish(ep: BfclEpisode) -> None:
            writers[ep.category].append(ep.row())
            remaining[ep.category].discard(ep.id)
            stats["errors"] += ep.error is not None
            bar.update(1)
            if not remaining[ep.category]:
                writers[ep.category].finish()

        for cat in entries:
            if not remaining[cat]:
                writers[cat].finish()
        try:
            while todo or active:
                while todo and len(active) < self.in_flight:
                    entry = todo.popleft()
                    try:
                        ep = self.episode_class(entry, self)
                    except Exception as e:  # a broken entry fails alone, as in BFCL
                        ep = BfclEpisode.__new__(BfclEpisode)
                        ep.id, ep.category, ep.error, ep.error_trace = entry["id"], category_of(entry["id"]), None, ""
                        ep.fail(f"{type(e).__name__}: {e}", traceback.format_exc())
                    (finish if ep.done else active.append)(ep)
                batch: list[tuple[BfclEpisode, GenRequest]] = []
                for ep in active:
                    req = self._guard(ep, ep.request)
                    if req is not None:
                        batch.append((ep, req))
                if batch:
                    gens = self.backend.generate([req for _, req in batch])
                    stats["ticks"] += 1
                    stats["max_batch"] = max(stats["max_batch"], len(batch))
                    for (ep, _), gen in zip(batch, gens):
                        stats["steps"] += 1
                        stats["prompt_tokens"] += gen.prompt_tokens
                        stats["completion_tokens"] += gen.completion_tokens
                        self._guard(ep, ep.advance, gen)
                still = []
                for ep in active:
                    (finish if ep.done else still.append)(ep)
                active = still
        finally:
            bar.close()
        stats["wall_s"] = round(time.perf_counter() - t0, 3)
        return stats
