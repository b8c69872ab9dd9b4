"""Verifiable rewards for one user turn, by BFCL semantics (used by GRPO; knows nothing of models or prompts).

    from envs.rewards import turn_success, format_score
    r = turn_success(model_instances, gt_instances, model_results, gt_results, num_model_calls, turn_index=2)
    f = format_score(steps_parsed_ok=[True, True], finished=True)

`turn_success` is BFCL's multi-turn checker for one turn (`bfcl_eval ... multi_turn_checker`):
- a turn whose ground truth is non-empty needs at least one model call, then the state check (every public
  attribute of every ground-truth instance equals the model's) and the response check (this turn's ground-truth
  results contained, as a multiset, in the model's results of all turns so far), via `envs.verify.compare_turn`;
- a turn whose ground truth is empty (the request cannot be fulfilled) succeeds only if the model made no call
  (BFCL's irrelevance check).
Both rewards are 0.0 or 1.0: the strict binary reward of EGPO; the recipe weights them.
"""

from __future__ import annotations

from envs.verify import TurnVerdict, compare_turn

EMPTY_TURN = "multi_turn:empty_turn_model_response"
IRRELEVANCE = "multi_turn:irrelevance_error"


def turn_verdict(
    model_instances: dict[str, object],
    gt_instances: dict[str, object],
    model_results: list[str],
    gt_results: list[str],
    num_model_calls: int,
    turn_index: int = 0,
) -> TurnVerdict:
    """BFCL's verdict for one turn. `model_results` covers all turns so far; `gt_results` this turn only."""
    if not gt_results:
        if num_model_calls:
            return TurnVerdict(False, IRRELEVANCE, f"Model made {num_model_calls} call(s) in an irrelevant turn.")
        return TurnVerdict(True)
    if num_model_calls == 0:
        return TurnVerdict(False, EMPTY_TURN, f"Model response list is empty for turn {turn_index}")
    return compare_turn(model_instances, gt_instances, model_results, gt_results, turn_index)


def turn_success(
    model_instances: dict[str, object],
    gt_instances: dict[str, object],
    model_results: list[str],
    gt_results: list[str],
    num_model_calls: int,
    turn_index: int = 0,
) -> float:
    """1.0 if the turn passes BFCL's checks, else 0.0."""
    verdict = turn_verdict(model_instances, gt_instances, model_results, gt_results, num_model_calls, turn_index)
    return 1.0 if verdict.ok else 0.0


def format_score(steps_parsed_ok: list[bool], finished: bool) -> float:
    """1.0 if every step's output parsed in the tool-call format and the turn ended on its own (not cut off)."""
    return 1.0 if finished and steps_parsed_ok and all(steps_parsed_ok) else 0.0
