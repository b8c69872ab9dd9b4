"""funreason/experiments/rollout_stats.py: the group figures that say how much signal a GRPO step could get.

.venv/bin/python -m pytest -q tests/test_rollout_stats.py
"""

from __future__ import annotations

import pytest

from funreason.experiments.rollout_stats import group_stats


def test_groups_are_counted_as_all_pass_all_fail_or_mixed():
    # three tasks, four rollouts each: one always passes, one never, one half the time
    stats = group_stats([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1], group=4)
    assert stats["mean"] == pytest.approx(6 / 12)
    assert stats["pass@4"] == pytest.approx(2 / 3)  # any pass in the group
    assert (stats["all_pass"], stats["all_fail"], stats["mixed"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


def test_rollouts_that_do_not_fill_their_groups_are_refused():
    with pytest.raises(ValueError, match="groups of 4"):
        group_stats([1, 0, 1], group=4)
    with pytest.raises(ValueError):
        group_stats([], group=4)
