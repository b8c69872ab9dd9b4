"""A BFCL multi-turn entry as an episode of the lockstep runner (eval/runner.py): BFCL's multi-turn inference loop,
step for step.

    from funreason.eval.runner import LockstepRunner
    LockstepRunner(backend, tokenizer, chat_options).run(tasks.entries, result_dir / "my_model", resume=True)
    # -> <model_dir>/multi_turn/BFCL_v4_multi_turn_<category>_result.json, one row per entry

The loop is BFCL's `inference_multi_turn_prompting` (bfcl_eval/model_handler/base_handler.py):
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
A prompt that does not fit the context, or a request that fails for good, makes the entry an
"Error during inference: ..." row (BFCL's inference_error) with its traceback.
"""

from __future__ import annotations

from funreason.chat.holdout import holdout_turn
from funreason.chat.render import render_prompt
from funreason.chat.step import DECODE_ERROR, NO_CALLS, take_step
from funreason.core.jsonl import jsonable
from funreason.envs.base import public_state
from funreason.envs.dispatch import Dispatcher
from funreason.envs.resolve import resolve_env
from funreason.eval.backends import Generation, GenRequest, generation_budget
from funreason.eval.bfcl_layout import inference_error
from funreason.eval.episode import Episode

MAXIMUM_STEP_LIMIT = 20  # bfcl_eval.constants.default_prompts.MAXIMUM_STEP_LIMIT
STATELESS_CLASSES = ("MathAPI",)  # bfcl_eval.constants.executable_backend_config: no state worth logging
# ... and OMIT_STATE_INFO_CLASSES: stateful, but BFCL keeps their state out of the inference log (memory snapshots)
OMIT_STATE_INFO_CLASSES = ("MemoryAPI_kv", "MemoryAPI_vector", "MemoryAPI_rec_sum", "WebSearchAPI")


class MultiTurnEpisode(Episode):
    """One BFCL entry going through BFCL's loop; `request()` gives its pending prompt, `advance()` consumes a reply
    (one `chat.step.take_step`, executed through this entry's own fresh environment instances)."""

    def __init__(self, entry: dict, category: str, runner):
        super().__init__(entry, category, runner)
        self.instances: dict = {}
        self.tools: list[dict] = list(entry.get("function", []))
        self.holdout: dict = entry.get("missed_function") or {}
        self.messages: list[dict] = []
        self.turn = -1
        self.step = 0
        self.result: list[list[str]] = []
        self.reasoning: list[list[str]] = []
        self.in_tok: list[list[int]] = []
        self.out_tok: list[list[int]] = []
        self.latency: list[list[float]] = []
        self.log: list = []

    def start(self) -> None:
        env = resolve_env(self.entry["involved_classes"])
        self.instances = env.make_instances(
            self.entry.get("initial_config"), long_context="long_context" in self.category
        )
        self.dispatcher = Dispatcher(self.instances)
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
        for per_turn in (self.result, self.reasoning, self.in_tok, self.out_tok, self.latency):
            per_turn.append([])
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
        if step.verdict in (DECODE_ERROR, NO_CALLS):
            step_log.append(_turn_end_log(step))
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
            quit_message = f"Model has been forced to quit after {MAXIMUM_STEP_LIMIT} steps."
            step_log.append({"role": "handler_log", "content": quit_message})
            self._end_turn(force_quit=True)

    def row(self) -> dict:
        if self.error is not None:
            return {"id": self.id, "result": inference_error(self.error), "traceback": self.error_trace}
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


def _turn_end_log(step) -> dict:
    """BFCL's handler log for a step that ends the turn: a reply that does not decode, or decodes to no call."""
    if step.verdict == DECODE_ERROR:
        return {
            "role": "handler_log",
            "content": "Error decoding the model response. Proceed to next turn.",
            "error": step.parsed.error,
        }
    return {
        "role": "handler_log",
        "content": "Empty response from the model. Proceed to next turn.",
        "model_response_decoded": step.decoded,
    }
