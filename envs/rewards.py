"""Verifiable rewards for one user turn, by BFCL semantics (used by GRPO; knows nothing of models or prompts).

    from funreason.envs.rewards import turn_success, format_score
    r = turn_success(model_instances, gt_instances, model_results, gt_results, num_model_calls, turn_index=2)
    p = partial_credit(model_instances, gt_instances, start_instances, model_results, gt_results, num_model_calls)
    f = format_score(steps_parsed_ok=[True, True], finished=True, acted_as_needed=True)

`turn_success` is BFCL's multi-turn checker for one turn (`bfcl_eval ... multi_turn_checker`):
- a turn whose ground truth is non-empty needs at least one model call, then the state check (every public
  attribute of every ground-truth instance equals the model's) and the response check (this turn's ground-truth
  results contained, as a multiset, in the model's results of all turns so far), via `envs.verify.compare_turn`;
- a turn whose ground truth is empty (the request cannot be fulfilled) succeeds only if the model made no call
  (BFCL's irrelevance check).
`turn_success` and `format_score` are 0.0 or 1.0: the strict binary reward of EGPO; the recipe weights them.
`partial_credit` (the recipe switch `grpo.turn_reward: partial`) is the share in [0, 1] of what the turn's ground
truth does that the model reproduced: every public state unit the ground truth changed (an attribute, or one key of
a dict attribute) that the model's instance now holds, and every ground-truth result found among the model's results
(BFCL's multiset containment), over those units plus every unit the model changed that the ground truth left alone
(a wrong extra call costs) plus every call beyond the ground truth's number of calls (a retried or repeated call
costs, even one that changes nothing). It is 1.0 only when `turn_success` is, and exactly then for a turn done in
no more calls than the ground truth; 0.0 for a reply without calls to a turn that needs calls. All three are
computed on environment state and execution results (`envs.verify`), never on the model's text.

Why surplus calls cost, though BFCL's checker never charges them: a reward that lets a policy retry for free teaches
it to retry. On the learning check (docs/learning-check.md), GRPO with the uncharged reward learned to repeat a
failed `find_item` until the step cap (up to 20 identical calls per held-out turn) instead of copying the name the
request gave; a rollout that gets the value right the first time must earn more than one that stumbles into it.

No reward pays for not acting: a reply without calls to a turn whose ground truth needs calls gets 0 from every
term (the format term requires the reply to act as the turn needs), so with non-negative weights it never earns
more than a failed attempt.
"""

from __future__ import annotations

from funreason.envs.base import public_state
from funreason.envs.verify import TurnVerdict, compare_turn, missing_results

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


def state_units(instances: dict[str, object]) -> dict[tuple, object]:
    """The public state as comparable units: `(class, attr)` for a plain attribute, `(class, attr, key)` for each
    key of a dict attribute (a file tree's top level, a ticket table), so one wrong entry does not void the rest."""
    units: dict[tuple, object] = {}
    for class_name, instance in instances.items():
        for attr, value in public_state(instance).items():
            if isinstance(value, dict) and value:
                units.update({(class_name, attr, repr(key)): item for key, item in value.items()})
            else:
                units[(class_name, attr)] = value
    return units


_ABSENT = object()


def partial_credit(
    model_instances: dict[str, object],
    gt_instances: dict[str, object],
    start_instances: dict[str, object],
    model_results: list[str],
    gt_results: list[str],
    num_model_calls: int,
) -> float:
    """Share of the turn's ground-truth state changes and results the model reproduced (see the module doc).

    `start_instances` hold the state the turn began from (what tells a change from an unchanged unit);
    `model_results` cover all turns so far, `gt_results` this turn only, as for `turn_verdict`.
    """
    if not gt_results:  # an irrelevant turn: acting is the failure (BFCL's irrelevance check)
        return 0.0 if num_model_calls else 1.0
    if num_model_calls == 0:
        return 0.0
    start, gt, model = state_units(start_instances), state_units(gt_instances), state_units(model_instances)
    keys = set(start) | set(gt) | set(model)
    changed = [k for k in keys if gt.get(k, _ABSENT) != start.get(k, _ABSENT)]
    reproduced = sum(model.get(k, _ABSENT) == gt[k] for k in changed if k in gt) + sum(
        k not in gt and k not in model for k in changed
    )
    wrong_extra = sum(k not in changed and model.get(k, _ABSENT) != gt.get(k, _ABSENT) for k in keys)
    surplus_calls = max(0, num_model_calls - len(gt_results))  # one ground-truth result per ground-truth call
    results_found = len(gt_results) - len(missing_results(gt_results, model_results))
    return (reproduced + results_found) / (len(changed) + len(gt_results) + wrong_extra + surplus_calls)


def acted_as_needed(num_model_calls: int, gt_results: list[str]) -> bool:
    """Calls where the ground truth has calls, none where it has none (an unfulfillable request)."""
    return (num_model_calls > 0) == bool(gt_results)


def format_score(steps_parsed_ok: list[bool], finished: bool, acted_as_needed: bool) -> float:
    """1.0 if every step's output parsed in the tool-call format, the turn ended on its own (not cut off), and the
    reply acted as the turn needs (`acted_as_needed`): a clean reply that declines to act where calls are needed
    earns nothing, or GRPO learns to ask clarifying questions instead of calling tools (issue #26)."""
    return 1.0 if acted_as_needed and finished and steps_parsed_ok and all(steps_parsed_ok) else 0.0
