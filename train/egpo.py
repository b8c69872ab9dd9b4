"""Entropy-enhanced advantage (EGPO, Hao et al. 2025, arXiv 2508.05118), behind the recipe switch `grpo.egpo`.

    from funreason.train.egpo import entropy_advantages, reasoning_mask
    mask = reasoning_mask(completion_ids, think_id, end_think_id, starts_inside=think_prefill) * model_token_mask
    adv = entropy_advantages(advantages, entropies, mask, alpha=0.4, kappa=2.0)   # (B,) -> (B, T)

Each reasoning token t of a completion with group-normalized advantage A gets
    A_t = A + min(alpha * H_t, |A| / kappa),
where H_t is the (detached) entropy of the policy at t. The bonus is never negative and never larger than |A|/kappa,
so with kappa > 1 it cannot flip the advantage's sign (a zero advantage stays zero), while tokens the model was
unsure about while reasoning are pushed harder when the outcome was good and penalized less when it was bad. Tokens
outside the mask keep A. TRL's loss accepts (B, T) advantages as they are.
"""

from __future__ import annotations

import torch


def entropy_advantages(
    advantages: torch.Tensor, entropies: torch.Tensor, mask: torch.Tensor, alpha: float, kappa: float
) -> torch.Tensor:
    """Per-token advantages (B, T) from sequence advantages (B,), token entropies (B, T) and a 0/1 mask (B, T)."""
    if kappa <= 1.0:
        raise ValueError(f"egpo_kappa must be > 1 so the bonus cannot flip an advantage's sign, got {kappa}")
    if alpha < 0:
        raise ValueError(f"egpo_alpha must be >= 0, got {alpha}")
    base = advantages.unsqueeze(1).expand_as(entropies)
    bonus = torch.minimum(alpha * entropies.detach().clamp(min=0), base.abs() / kappa)
    return base + bonus * mask.to(base.dtype)


def reasoning_mask(
    completion_ids: torch.Tensor, think_id: int | None, end_think_id: int | None, starts_inside: bool = False
) -> torch.Tensor:
    """1 on the tokens strictly between `<think>` and `</think>` (from the start when the prompt opened `<think>`)."""
    if end_think_id is None:
        return torch.zeros_like(completion_ids, dtype=torch.long)
    marker = (completion_ids == end_think_id).long() * -1
    if think_id is not None:
        marker = marker + (completion_ids == think_id).long()
    # Inside = the latest marker at or before a (non-marker) token is <think>; none yet = the prompt's state.
    positions = torch.arange(completion_ids.size(1), device=completion_ids.device).expand_as(completion_ids)
    latest = torch.where(marker != 0, positions, torch.full_like(positions, -1)).cummax(dim=1).values
    kind = marker.gather(1, latest.clamp(min=0))
    inside = torch.where(latest >= 0, kind > 0, torch.full_like(kind, int(starts_inside)).bool())
    return (inside & (marker == 0)).long()
