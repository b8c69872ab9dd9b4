"""The multi-turn checker: ground-truth self-replay, BFCL's error types, and parity with the official checker.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_checker.py

Parity feeds the same decoded input (damaged *ground truth*, literal calls only, because the official checker
executes with `eval`) to our `check_entry` and to bfcl_eval's own `_evaluate_single_multi_turn_entry` +
`multi_turn_checker`, and requires the same verdict, error type and message on every entry.
"""

from __future__ import annotations

import copy
import random

import pytest
from funreason.envs import bfcl
from funreason.envs.verify import check_response, check_state, compare_turn
from funreason.eval.checker import check_entry

from tests import bfcl_official as official
from tests.bfcl_damage import KINDS, damage

N_DAMAGED = 2400


@pytest.fixture(scope="module")
def dataset():
    out = {}
    for cat in bfcl.MULTI_TURN_CATEGORIES:
        gt = bfcl.load_ground_truth(cat)
        out[cat] = [(e, gt[e["id"]]) for e in bfcl.load_entries(cat, language_hint=False)]
    return out


def _as_model(gt, one_step_per_call=False):
    if one_step_per_call:
        return [[[c] for c in turn] for turn in gt]
    return [[list(turn)] if turn else [] for turn in gt]


def test_ground_truth_replay_passes_all_800(dataset):
    passed = 0
    for cat, items in dataset.items():
        for i, (entry, gt) in enumerate(items):
            verdict = check_entry(_as_model(gt, one_step_per_call=i % 2 == 1), gt, entry, cat)
            passed += verdict["valid"]
            assert all(t in ("pass", None) for t in verdict["turns"])
    assert passed == 800


def test_tool_call_objects_and_call_strings_are_equivalent(dataset):
    from funreason.envs.dispatch import parse_call

    for entry, gt in dataset["miss_param"][:20]:
        as_calls = [[[parse_call(c) for c in turn], [""]] if turn else [[]] for turn in gt]
        assert check_entry(as_calls, gt, entry)["valid"], entry["id"]


def test_silent_model_fails_every_entry_on_the_first_checked_turn(dataset):
    for entry, gt in dataset["base"][:50]:
        verdict = check_entry([[] for _ in gt], gt, entry)
        first = next(i for i, t in enumerate(gt) if t)
        assert verdict["valid"] is False
        assert verdict["error_type"] == "multi_turn:empty_turn_model_response"
        assert verdict["error_message"] == f"Model response list is empty for turn {first}"
        assert verdict["first_failing_turn"] == first
        assert "execution_result" in verdict["details"]


def test_inference_error_and_force_termination(dataset):
    entry, gt = dataset["base"][0]
    v = check_entry("Error during inference: context too long", gt, entry)
    assert (v["valid"], v["error_type"]) == (False, "multi_turn:inference_error")
    assert v["error"]["error_message"] == [
        "Error during inference phase. Model did not output a list of model responses."
    ]
    v = check_entry(_as_model(gt)[:-1], gt, entry)
    assert v["error_type"] == "multi_turn:force_terminated"
    assert f"({len(gt) - 1}) does not match the length of the ground truth turns ({len(gt)})" in v["error_message"]


def test_extra_side_effect_is_a_state_mismatch_with_bfcl_details(dataset):
    entry, gt = next((e, g) for e, g in dataset["base"] if e["involved_classes"][0] == "GorillaFileSystem")
    model = _as_model(gt)
    model[0][0] = model[0][0] + ["touch(file_name='junk.txt')"]
    v = check_entry(model, gt, entry)
    assert v["error_type"] == "multi_turn:instance_state_mismatch"
    assert v["first_failing_turn"] == 0
    assert set(v["details"]) == {"differences", "model_instance_state", "ground_truth_instance_state"}
    assert "root" in v["details"]["differences"]
    assert "execution_result" in v["error"]  # BFCL attaches it beside `details` for state failures


def test_extra_read_only_calls_pass_and_missing_reads_fail(dataset):
    entry, gt = next((e, g) for e, g in dataset["base"] if e["involved_classes"] == ["GorillaFileSystem"])
    model = _as_model(gt)
    for turn in model:
        if turn:
            turn.append(["ls()"])
    assert check_entry(model, gt, entry)["valid"]


def test_response_check_counts_duplicates_and_allows_earlier_turns():
    assert check_response(["a", "b", "a"], ["a", "a"]).ok
    v = check_response(["a", "b"], ["a", "a"], turn_index=3)
    assert not v.ok and v.details["missing_items"] == ["a"]
    assert v.error_message.endswith("for turn 3.")


def test_state_check_ignores_private_attributes():
    class Box:
        def __init__(self, value, cwd):
            self.value = value
            self._cwd = cwd

    assert check_state({"Box": Box(1, "a")}, {"Box": Box(1, "b")}).ok
    v = compare_turn({"Box": Box(2, "a")}, {"Box": Box(1, "a")}, [], [])
    assert v.error_type == "multi_turn:instance_state_mismatch"
    assert v.details["differences"] == {"value": {"model": 2, "ground_truth": 1}}
    assert v.error_message == "Model instance for Box does not match the state with ground truth instance."


# ---------------------------------------------------------------- parity with the official checker


class _Decoded:
    """A handler whose steps are already decoded call lists."""

    @staticmethod
    def decode_execute(item, has_tool_call_tag=False):
        return item


def test_parity_with_official_checker_on_damaged_ground_truth(dataset):
    rng = random.Random(20260323)
    items = [(cat, e, g) for cat, pairs in dataset.items() for e, g in pairs]
    foreign = [c for _, _, g in items[::37] for turn in g for c in turn]
    kinds_seen, errors_seen, mismatches = set(), {}, []
    for i in range(N_DAMAGED):
        cat, entry, gt = items[i % len(items)]
        kind = KINDS[(i // len(items) + i) % len(KINDS)]
        model = damage(gt, rng, kind, foreign)
        ours = check_entry(copy.deepcopy(model), gt, entry, cat, all_turns=i % 2 == 0)
        with official.instance_cache_cleared(f"parity_{i}") as name:
            verdict = official.evaluate_multi_turn_entry(
                _Decoded, entry["id"], copy.deepcopy(model), gt, dict(entry), name, cat
            )
        off_type = None if verdict["valid"] else verdict["error"]["error_type"]
        off_msg = None if verdict["valid"] else verdict["error"]["error_message"]
        our_msg = None if ours["valid"] else ours["error"]["error_message"]
        if (ours["valid"], ours["error_type"], our_msg) != (verdict["valid"], off_type, off_msg):
            mismatches.append((entry["id"], kind, ours["error_type"], off_type, our_msg, off_msg))
        elif off_type == "multi_turn:execution_response_mismatch":
            assert ours["details"]["missing_items"] == verdict["error"]["details"]["missing_items"]
        kinds_seen.add(kind)
        errors_seen[off_type] = errors_seen.get(off_type, 0) + 1
    assert not mismatches, f"{len(mismatches)} verdicts differ, e.g. {mismatches[:3]}"
    assert kinds_seen == set(KINDS)
    # the damage must exercise every live error type, and leave some entries valid (harmless damage)
    assert set(errors_seen) >= {
        None,
        "multi_turn:force_terminated",
        "multi_turn:empty_turn_model_response",
        "multi_turn:instance_state_mismatch",
        "multi_turn:execution_response_mismatch",
    }, errors_seen
    assert not official.cached_instances("parity_")
