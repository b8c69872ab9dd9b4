"""Per-call isolation from mutable default arguments, which BFCL's backends keep in their state.

    from funreason.envs.defaults import fresh_defaults
    kwargs.update(fresh_defaults(method, len(args), kwargs))     # what envs.dispatch.Dispatcher does per call

`TwitterAPI.post_tweet(content, tags=[], mentions=[])` stores its default lists in the tweet and `mention()`
extends the tweet's list in place, i.e. the function's one default object: every later tweet posted without
mentions, in any instance of the process, then carries those mentions (34 of 1,967 smoke trajectories did not
replay in fresh backends). Giving each call a copy of the pristine default, for the parameters it leaves out,
makes every call behave as the first one in a fresh process: no state leaks between trajectories, eval entries or
rollouts, whatever ran before in the process. Explicit arguments are untouched, so no result BFCL's ground truth
produces changes (tests/envs/test_bfcl_parity.py).
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Any

__all__ = ["fresh_defaults"]


@functools.cache
def _mutable_defaults(function: Any) -> tuple[tuple[int, str, Any], ...]:
    """(position, name, pristine copy) of each parameter whose default is a list, dict or set, read once."""
    try:
        parameters = list(inspect.signature(function).parameters.values())[1:]  # after self
    except (TypeError, ValueError):
        return ()
    return tuple(
        (i, p.name, copy.deepcopy(p.default))
        for i, p in enumerate(parameters)
        if isinstance(p.default, (list, dict, set)) and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def fresh_defaults(method: Any, n_positional: int, kwargs: dict) -> dict:
    """`{name: fresh copy}` of a bound method's mutable defaults for the parameters a call leaves out (the call has
    `n_positional` positional arguments and `kwargs`); {} for anything that is not a plain method."""
    function = getattr(method, "__func__", None)
    if function is None:
        return {}
    return {
        name: copy.deepcopy(default)
        for position, name, default in _mutable_defaults(function)
        if position >= n_positional and name not in kwargs
    }
