"""The multi-turn checker: ground-truth self-replay, BFCL's error types, and parity with the official checker.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_eval_checker.py

Parity feeds the same decoded input (damaged *ground truth*, literal calls only, because the official checker
executes with `eval`) to our `check_entry` and to bfcl_eval's own `_evaluate_single_multi_turn_entry` +
`multi_turn_checker`, and requires the same verdict, error type and message on every entry.
"""

from __future__ import annotations

import ast
import copy
import random
from pathlib import Path

import pytest

from envs import bfcl
from envs.verify import check_response, check_state, compare_turn
from eval.checker import check_entry

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
    from envs.dispatch import parse_call

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


def _mutate_value(value, rng):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([1, -1, 7])
    if isinstance(value, float):
        return value * 2 + 1.5
    if isinstance(value, str):
        return rng.choice([value + "x", value[:-1], value.upper() if value.upper() != value else value + " "])
    if isinstance(value, list):
        return value[:-1] if value and rng.random() < 0.5 else value + (value[:1] or ["x"])
    if isinstance(value, dict):
        return {**value, "extra_key": 1}
    return "changed"


def _change_argument(call: str, rng) -> str:
    node = ast.parse(call, mode="eval").body
    slots = [("kw", i) for i in range(len(node.keywords))] + [("pos", i) for i in range(len(node.args))]
    if not slots:
        node.keywords.append(ast.keyword(arg="unexpected", value=ast.Constant(1)))
        return ast.unparse(node)
    kind, i = rng.choice(slots)
    holder = node.keywords[i] if kind == "kw" else node.args
    old = ast.literal_eval(holder.value if kind == "kw" else holder[i])
    new = ast.parse(repr(_mutate_value(old, rng)), mode="eval").body
    if kind == "kw":
        holder.value = new
    else:
        holder[i] = new
    return ast.unparse(node)


def _damage(gt: list[list[str]], rng, kind: str, foreign: list[str]):
    """One seeded corruption of the ground truth, as decoded model output (list[turn][step] of call strings)."""
    model = [[[c] for c in turn] if rng.random() < 0.3 else ([list(turn)] if turn else []) for turn in gt]
    turns = [t for t, steps in enumerate(model) if steps]
    if not turns:
        return model
    t = rng.choice(turns)
    steps = model[t]
    s = rng.randrange(len(steps))
    if kind == "drop_call":
        steps[s].pop(rng.randrange(len(steps[s])))
    elif kind == "change_argument":
        c = rng.randrange(len(steps[s]))
        steps[s][c] = _change_argument(steps[s][c], rng)
    elif kind == "reorder":
        flat = [c for st in steps for c in st]
        rng.shuffle(flat)
        model[t] = [flat]
    elif kind == "extra_call":
        pool = [c for turn in gt for c in turn] + foreign
        steps[s].insert(rng.randrange(len(steps[s]) + 1), rng.choice(pool))
    elif kind == "empty_turn":
        model[t] = rng.choice([[], [[]], [[], []]])
    elif kind == "duplicate_turn":
        if rng.random() < 0.5:
            model.insert(t, copy.deepcopy(model[t]))  # one turn too many: force-terminated
        elif t + 1 < len(model):
            model[t + 1] = copy.deepcopy(model[t]) + model[t + 1]
        else:
            model[t] = model[t] + copy.deepcopy(model[t])
    elif kind == "drop_turn":
        model.pop(t)
    return model


KINDS = ["drop_call", "change_argument", "reorder", "extra_call", "empty_turn", "duplicate_turn", "drop_turn"]


def _official_evaluator():
    """bfcl_eval's `_evaluate_single_multi_turn_entry`, taken from its source: importing eval_runner pulls in every
    API client (anthropic, cohere, ...), which the venv does not carry. Only ground-truth strings ever reach it."""
    import bfcl_eval.eval_checker as pkg
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_checker as mtc
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils

    source = (Path(pkg.__file__).parent / "eval_runner.py").read_text()
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_evaluate_single_multi_turn_entry")
    namespace = {
        "BaseHandler": object,
        "multi_turn_checker": mtc.multi_turn_checker,
        "is_empty_execute_response": multi_turn_utils.is_empty_execute_response,
    }
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "eval_runner.py", "exec"), namespace)  # noqa: S102
    return namespace["_evaluate_single_multi_turn_entry"], multi_turn_utils


class _Decoded:
    """A handler whose steps are already decoded call lists."""

    @staticmethod
    def decode_execute(item, has_tool_call_tag=False):
        return item


def test_parity_with_official_checker_on_damaged_ground_truth(dataset):
    evaluate, utils = _official_evaluator()
    rng = random.Random(20260323)
    items = [(cat, e, g) for cat, pairs in dataset.items() for e, g in pairs]
    foreign = [c for _, _, g in items[::37] for turn in g for c in turn]
    kinds_seen, errors_seen, mismatches = set(), {}, []
    for i in range(N_DAMAGED):
        cat, entry, gt = items[i % len(items)]
        kind = KINDS[(i // len(items) + i) % len(KINDS)]
        model = _damage(gt, rng, kind, foreign)
        ours = check_entry(copy.deepcopy(model), gt, entry, cat, all_turns=i % 2 == 0)
        name = f"parity_{i}"
        try:
            official = evaluate(_Decoded, entry["id"], copy.deepcopy(model), gt, dict(entry), name, cat)
        finally:
            for key in [k for k in vars(utils) if k.startswith(name + "_")]:
                del vars(utils)[key]
        off_type = None if official["valid"] else official["error"]["error_type"]
        off_msg = None if official["valid"] else official["error"]["error_message"]
        our_msg = None if ours["valid"] else ours["error"]["error_message"]
        if (ours["valid"], ours["error_type"], our_msg) != (official["valid"], off_type, off_msg):
            mismatches.append((entry["id"], kind, ours["error_type"], off_type, our_msg, off_msg))
        elif off_type == "multi_turn:execution_response_mismatch":
            assert ours["details"]["missing_items"] == official["error"]["details"]["missing_items"]
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
    assert not [k for k in vars(utils) if k.startswith("parity_")]
