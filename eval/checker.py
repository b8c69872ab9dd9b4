"""BFCL's multi-turn checker (bfcl.md §5), executed only through our safe dispatcher.

    from funreason.eval.checker import check_entry
    verdict = check_entry(decoded_turns, ground_truth, entry)   # decoded_turns: list[turn][step] -> list[ToolCall | str]
    verdict["valid"], verdict["error_type"], verdict["error_message"], verdict["details"]
    verdict["error"]          # the BFCL-shaped `error` object written into score files
    verdict["turns"]          # per-turn status for diagnostics: "pass", an error type, or None (turn not checked)
    verdict["first_failing_turn"]

Reproduces `_evaluate_single_multi_turn_entry` + `multi_turn_checker`: a non-list result is an inference error;
a turn-count mismatch is a force-termination; then, turn by turn, every decoded model step runs on its own fresh
instances and the ground truth on separate fresh instances; a turn whose ground truth is non-empty fails if the
model made no calls in it; turns with empty ground truth are not checked (their calls still run); otherwise the
state check, then the response check (`envs.verify`). The verdict is the first failure; unlike BFCL we keep
replaying the remaining turns (they cannot change the verdict) so diagnostics can say which turns pass.
Model text never reaches `eval`: calls are `ToolCall`s or call strings parsed by `envs.dispatch`. Instances come
from `envs.resolve.EnvSpec.make_instances`, so an entry's `involved_classes` may name BFCL classes or `module:Class`.
"""

from __future__ import annotations

from typing import Any

from funreason.core.jsonl import jsonable
from funreason.envs.dispatch import Dispatcher, parse_call
from funreason.envs.resolve import resolve_env
from funreason.envs.verify import compare_turn
from funreason.eval.bfcl_layout import INFERENCE_ERROR_VERDICT

INFERENCE_ERROR = "multi_turn:inference_error"
FORCE_TERMINATED = "multi_turn:force_terminated"
EMPTY_TURN = "multi_turn:empty_turn_model_response"
PASS = "pass"


def is_long_context(entry_id: str) -> bool:
    """BFCL derives the category from the id (`multi_turn_long_context_3` -> long context backends)."""
    category = entry_id.rsplit("_", 1)[0]
    return "long_context" in category or "composite" in category


def is_empty_turn(steps: list) -> bool:
    """BFCL's `is_empty_execute_response` applied to a turn's list of decoded steps."""
    return len(steps) == 0 or (len(steps) == 1 and len(steps[0]) == 0)


def is_empty_step(step: list) -> bool:
    """BFCL's `is_empty_execute_response` applied to one decoded step: `[]` or `[""]`."""
    return len(step) == 0 or (len(step) == 1 and isinstance(step[0], str) and step[0] == "")


def call_text(call: Any) -> str:
    """A decoded call as BFCL shows it in `model_result_decoded`."""
    return call if isinstance(call, str) else call.to_python()


def _snapshot(execution_results: list[dict]) -> list[dict]:
    return [
        {"model": [list(step) for step in t["model"]], "ground_truth": list(t["ground_truth"])}
        for t in execution_results
    ]


def _verdict(error_type: str, message: str, details: dict, error: dict, turns: list, first: int | None) -> dict:
    return {
        "valid": False,
        "error_type": error_type,
        "error_message": message,
        "details": details,
        "error": error,
        "turns": turns,
        "first_failing_turn": first,
    }


def check_entry(
    decoded_model_turns: Any,
    ground_truth: list[list[str]],
    entry: dict,
    category: str | None = None,
    *,
    all_turns: bool = True,
) -> dict:
    """Check one entry; see the module docstring for the verdict's keys.

    `decoded_model_turns` is `list[turn][step] -> list[ToolCall | str]` with undecodable / empty steps already
    dropped as BFCL's evaluator drops them (any left are dropped here too), or any non-list (e.g. the runner's "Error during inference: ..."
    string). `category` is informational: like BFCL, the long-context switch is read from the entry id.
    With `all_turns=False` replay stops at the first failure, exactly where BFCL stops.
    """
    shape_failure = _shape_failure(decoded_model_turns, ground_truth)
    if shape_failure is not None:
        return shape_failure
    replay = _Replay(entry)
    turns: list[str | None] = []
    failure: dict | None = None
    for turn_index, gt_calls in enumerate(ground_truth):
        # BFCL's evaluator drops steps that decode to nothing ([] or [""]) before checking; idempotent here
        steps = [step for step in decoded_model_turns[turn_index] if not is_empty_step(step)]
        gt_results = replay.run_turn(steps, gt_calls)
        if not gt_calls:
            turns.append(None)  # "cannot do it yet" turns are not checked; the calls above still changed state
            continue
        status, turn_failure = _check_turn(replay, steps, gt_results, turn_index, turns, failure is None)
        turns.append(status)
        failure = failure or turn_failure
        if failure is not None and not all_turns:
            break

    if failure is not None:
        failure["turns"] = turns
        return failure
    return {
        "valid": True,
        "error_type": None,
        "error_message": None,
        "details": {},
        "error": None,
        "turns": turns,
        "first_failing_turn": None,
    }


def _shape_failure(decoded_model_turns: Any, ground_truth: list[list[str]]) -> dict | None:
    """BFCL's verdict for a result that is no list of turns (an inference error) or has the wrong number of turns
    (force-terminated); None when the shape is right."""
    if not isinstance(decoded_model_turns, list):
        message = INFERENCE_ERROR_VERDICT
        error = {"error_message": [message], "error_type": INFERENCE_ERROR}
        return _verdict(INFERENCE_ERROR, message, {}, error, [], None)
    if len(decoded_model_turns) != len(ground_truth):
        message = (
            "Model was force-terminated during inference phase. The length of the model result turns "
            f"({len(decoded_model_turns)}) does not match the length of the ground truth turns ({len(ground_truth)})."
        )
        error = {"error_message": [message], "error_type": FORCE_TERMINATED}
        return _verdict(FORCE_TERMINATED, message, {}, error, [], None)
    return None


class _Replay:
    """An entry's two sets of fresh environments, the model's and the ground truth's, and every call run on them."""

    def __init__(self, entry: dict):
        long_context = is_long_context(entry["id"])
        env = resolve_env(entry["involved_classes"])
        self.model_instances = env.make_instances(entry["initial_config"], long_context=long_context)
        self.gt_instances = env.make_instances(entry["initial_config"], long_context=long_context)
        self.model, self.gt = Dispatcher(self.model_instances), Dispatcher(self.gt_instances)
        self.parsed: dict[str, Any] = {}
        self.execution_results: list[dict] = []
        self.all_model_results: list[str] = []

    def calls_of(self, step: list) -> list:
        # A call string parses the same every time, and the dispatcher deep-copies arguments per call, so one
        # parse serves the model's and the ground truth's copy of the same call (a replay makes every one twice).
        out = []
        for call in step:
            if isinstance(call, str):
                if call not in self.parsed:
                    self.parsed[call] = parse_call(call)
                call = self.parsed[call]
            out.append(call)
        return out

    def execute_all(self, dispatcher: Dispatcher, step: list) -> list[str]:
        # parse_call's error text is exactly what Dispatcher.execute returns for an unparsable string
        return [c if isinstance(c, str) else dispatcher.execute(c) for c in self.calls_of(step)]

    def run_turn(self, steps: list[list], gt_calls: list[str]) -> list[str]:
        """Run one turn's model steps and ground-truth calls; the ground truth's results."""
        per_step = [self.execute_all(self.model, step) for step in steps]
        gt_results = self.execute_all(self.gt, gt_calls)
        self.all_model_results.extend(r for step in per_step for r in step)
        self.execution_results.append({"model": per_step, "ground_truth": gt_results})
        return gt_results


def _check_turn(replay: _Replay, steps: list, gt_results: list[str], turn_index: int, turns: list, first: bool):
    """(the turn's status, BFCL's failure verdict for it or None) for a turn with ground-truth calls; the verdict
    is made only for the `first` failure (the one reported)."""
    if is_empty_turn(steps):
        if not first:
            return EMPTY_TURN, None
        message = f"Model response list is empty for turn {turn_index}"
        details = {"execution_result": _snapshot(replay.execution_results)}
        error = {"error_message": message, "error_type": EMPTY_TURN, "details": details}
        return EMPTY_TURN, _verdict(EMPTY_TURN, message, details, error, turns, turn_index)
    verdict = compare_turn(
        replay.model_instances, replay.gt_instances, replay.all_model_results, gt_results, turn_index
    )
    if verdict.ok or not first:
        return (PASS if verdict.ok else verdict.error_type), None
    details = jsonable(verdict.details)
    error = {"error_message": verdict.error_message, "error_type": verdict.error_type, "details": details}
    if verdict.error_type == "multi_turn:instance_state_mismatch":
        error["execution_result"] = _snapshot(replay.execution_results)  # BFCL attaches it to state failures only
    return verdict.error_type, _verdict(verdict.error_type, verdict.error_message, details, error, turns, turn_index)
