"""BFCL's per-turn verdict, model-agnostic: the state check, then the response check.

    from funreason.envs.verify import compare_turn
    verdict = compare_turn(model_instances, gt_instances, model_results_so_far, gt_results_this_turn, turn_index=2)
    if not verdict.ok:
        print(verdict.error_type, verdict.error_message, verdict.details)

Semantics follow `bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker` exactly:
- state: for each class, every public attribute (`vars()` key not starting with `_`) of the ground-truth
  instance is compared with the model instance's attribute using `!=`;
- response: the multiset of this turn's ground-truth result strings must be contained in the *cumulative*
  model results of all turns so far (order-free, duplicates counted).
Used by eval's checker, by synth's phase III validation and by GRPO rewards, so it knows nothing of models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from funreason.envs.base import public_state

STATE_MISMATCH = "multi_turn:instance_state_mismatch"
RESPONSE_MISMATCH = "multi_turn:execution_response_mismatch"

_MISSING = object()


@dataclass
class TurnVerdict:
    """The outcome of one turn's check; `details` has BFCL's keys for the failing check."""

    ok: bool
    error_type: str | None = None
    error_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def compare_states(model_instance: object, gt_instance: object) -> dict[str, dict[str, Any]]:
    """Return `{attr: {"model": ..., "ground_truth": ...}}` for every differing public attribute (BFCL order)."""
    differences = {}
    for name in vars(gt_instance):
        if name.startswith("_"):
            continue
        model_value = getattr(model_instance, name, _MISSING)
        gt_value = getattr(gt_instance, name)
        if model_value is _MISSING or model_value != gt_value:
            differences[name] = {"model": None if model_value is _MISSING else model_value, "ground_truth": gt_value}
    return differences


def check_state(model_instances: dict[str, object], gt_instances: dict[str, object]) -> TurnVerdict:
    """BFCL's `state_checker`: the first class whose public state differs fails the turn."""
    for class_name, gt_instance in gt_instances.items():
        model_instance = model_instances.get(class_name)
        if model_instance is None:
            differences = {"<instance>": {"model": None, "ground_truth": class_name}}
        else:
            differences = compare_states(model_instance, gt_instance)
        if differences:
            return TurnVerdict(
                ok=False,
                error_type=STATE_MISMATCH,
                error_message=f"Model instance for {class_name} does not match the state with ground truth instance.",
                details={
                    "differences": differences,
                    "model_instance_state": {} if model_instance is None else public_state(model_instance),
                    "ground_truth_instance_state": public_state(gt_instance),
                },
            )
    return TurnVerdict(ok=True)


def missing_results(gt_results: list[str], model_results: list[str]) -> list[str]:
    """Ground-truth results not matched one-for-one in `model_results` (BFCL's `_is_subsequence_unordered`)."""
    pool = list(model_results)
    missing = []
    for item in gt_results:
        try:
            pool.remove(item)
        except ValueError:
            missing.append(item)
    return missing


def check_response(model_results: list[str], gt_results: list[str], turn_index: int = 0) -> TurnVerdict:
    """BFCL's `response_checker`: every ground-truth result of this turn must appear in the model's results so far."""
    missing = missing_results(gt_results, model_results)
    if not missing:
        return TurnVerdict(ok=True)
    return TurnVerdict(
        ok=False,
        error_type=RESPONSE_MISMATCH,
        error_message=(
            "Model response execution results so far does not contain all the ground truth response execution "
            f"results for turn {turn_index}."
        ),
        details={
            "missing_items": missing,
            "model_response (including all previous turns)": list(model_results),
            "ground_truth_response (only the current turn)": list(gt_results),
        },
    )


def compare_turn(
    model_instances: dict[str, object],
    gt_instances: dict[str, object],
    model_results: list[str],
    gt_results: list[str],
    turn_index: int = 0,
) -> TurnVerdict:
    """State check, then response check, for one turn whose ground truth is non-empty.

    `model_results` are the model's execution results of *all turns so far* (BFCL lets a call made in an earlier
    turn count); `gt_results` are the ground truth's results for this turn only.
    """
    verdict = check_state(model_instances, gt_instances)
    if not verdict.ok:
        return verdict
    return check_response(model_results, gt_results, turn_index)
