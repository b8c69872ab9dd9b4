"""Seeded corruptions of BFCL multi-turn ground truth, as decoded model output, for checker parity tests.

    import random
    from tests.bfcl_damage import KINDS, damage

    model = damage(ground_truth_turns, random.Random(0), "reorder", foreign_calls)  # list[turn][step] of call strings

Only literal ground-truth call strings are produced (the official checker `eval`s them).
"""

from __future__ import annotations

import ast
import copy

KINDS = ["drop_call", "change_argument", "reorder", "extra_call", "empty_turn", "duplicate_turn", "drop_turn"]


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


def change_argument(call: str, rng) -> str:
    """`call` with one keyword or positional argument changed, or an unexpected keyword added if it has none."""
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


def damage(gt: list[list[str]], rng, kind: str, foreign: list[str]):
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
        steps[s][c] = change_argument(steps[s][c], rng)
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
