"""funreason/experiments/rollout_stats.py: the group figures that say how much signal a GRPO step could get, and the
sampling generator they come from (train/heldout_curve.transformers_generate).

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


def test_the_generator_samples_at_a_temperature_and_is_greedy_without_one(tiny_model_dir, tiny_tokenizer):
    # rollout_stats' sampled figures come from `temperature`: were it ignored, "sampled" would be greedy again
    import torch
    from funreason.train.grpo import load_policy
    from funreason.train.heldout_curve import transformers_generate

    model, _ = load_policy(tiny_model_dir, bf16=False)
    model.eval()
    contexts = [tiny_tokenizer.encode(text) for text in ("Ship 3 boxes to Oslo.", "Find the note.", "Restock A.")] * 2
    stops = {tiny_tokenizer.eos_token_id, tiny_tokenizer.pad_token_id} - {None}
    with torch.no_grad():
        greedy, _ = transformers_generate(model, tiny_tokenizer, 12)(contexts)
        again, _ = transformers_generate(model, tiny_tokenizer, 12)(contexts)
        torch.manual_seed(0)
        sampled, _ = transformers_generate(model, tiny_tokenizer, 12, temperature=1.0)(contexts)
    assert greedy == again
    assert greedy[:3] == greedy[3:]  # the same context decodes the same way, whatever its batch neighbours
    assert sampled != greedy
    for reply in greedy + sampled:  # each reply ends at its first stop token, as a served model stops
        assert all(token not in stops for token in reply[:-1])
