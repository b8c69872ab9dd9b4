"""EGPO's entropy-enhanced advantage: what it does to GRPO advantages, and that it never flips their sign."""

from __future__ import annotations

import pytest
import torch
from funreason.train.egpo import entropy_advantages, reasoning_mask


def test_entropy_bonus_effect_on_advantages():
    # One group of four: two successes, two failures (normalized advantages +1 / -1) and a zero-advantage row.
    adv = torch.tensor([1.0, -1.0, 0.0, 0.5])
    ent = torch.tensor([[0.1, 2.0, 5.0], [0.1, 2.0, 5.0], [3.0, 3.0, 3.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]])
    out = entropy_advantages(adv, ent, mask, alpha=0.4, kappa=2.0)
    # Low entropy: small bonus alpha*H; high entropy: capped at |A|/kappa; unmasked tokens keep A.
    assert out[0].tolist() == pytest.approx([1.04, 1.5, 1.0])
    # A failure is penalized less where the model was unsure, but stays a penalty (-1 + 0.5 = -0.5 < 0).
    assert out[1].tolist() == pytest.approx([-0.96, -0.5, -0.5])
    assert out[2].tolist() == [0.0, 0.0, 0.0]  # no signal stays no signal
    assert out[3].tolist() == pytest.approx([0.75, 0.75, 0.75])


def test_bonus_never_flips_sign_and_is_bounded():
    gen = torch.Generator().manual_seed(0)
    adv = torch.randn(256, generator=gen) * 3
    ent = torch.rand(256, 40, generator=gen) * 10
    mask = (torch.rand(256, 40, generator=gen) > 0.3).long()
    out = entropy_advantages(adv, ent, mask, alpha=1.0, kappa=1.5)
    base = adv.unsqueeze(1).expand_as(out)
    assert torch.all(torch.sign(out) == torch.sign(base))
    assert torch.all(out >= base) and torch.all(out - base <= base.abs() / 1.5 + 1e-6)
    assert torch.all((out != base) <= mask.bool())
    with pytest.raises(ValueError, match="kappa"):
        entropy_advantages(adv, ent, mask, alpha=1.0, kappa=1.0)


def test_reasoning_mask_marks_think_content_only():
    think, end = 7, 8
    ids = torch.tensor([[7, 1, 2, 8, 3, 4], [1, 2, 8, 3, 7, 5]])
    assert reasoning_mask(ids, think, end).tolist() == [[0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]]
    # With '<think>' prefilled in the prompt, the completion starts inside the reasoning.
    assert reasoning_mask(ids, think, end, starts_inside=True)[1].tolist() == [1, 1, 0, 0, 0, 1]
    assert reasoning_mask(ids, None, None).sum() == 0
