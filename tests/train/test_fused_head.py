"""train/fused_head.py: on a CPU, TRL's fused LM head scores only the trained positions, with the same numbers."""

from __future__ import annotations

import pytest
import torch
from funreason.train.fused_head import score_trained_positions_only


def _loss_and_grads(model, ids, labels, monkeypatch) -> tuple[torch.Tensor, dict, list[int]]:
    """Loss and gradients through TRL's fused head, and the number of positions it projected (rows)."""
    from trl.kernels.chunked_logprob import ChunkedLogProbFunction as kernel

    rows: list[int] = []
    apply = kernel.apply

    def counting_apply(hidden, *rest):
        rows.append(hidden.shape[0])
        return apply(hidden, *rest)

    model.zero_grad()
    with monkeypatch.context() as m:
        m.setattr(kernel, "apply", counting_apply)
        out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    mask = labels[:, 1:] != -100
    loss = -(out.log_probs[mask]).sum() / mask.sum()
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}, rows


@pytest.fixture
def fused_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    yield model
    score_trained_positions_only(enabled=False)


def test_cpu_fused_head_scores_only_trained_positions_with_unchanged_loss_and_grads(fused_model, monkeypatch):
    import trl.trainer.utils as trl_utils

    torch.manual_seed(0)
    ids = torch.randint(10, 4000, (1, 300))
    labels = torch.full_like(ids, -100)
    labels[0, 280:] = ids[0, 280:]  # 20 trained tokens after a long prompt, as in our SFT examples

    score_trained_positions_only(enabled=False)
    assert not trl_utils._use_triton(torch.device("cpu"))
    loss_full, grads_full, full_rows = _loss_and_grads(fused_model, ids, labels, monkeypatch)

    assert score_trained_positions_only() is True
    assert score_trained_positions_only() is True  # idempotent: wrapped once
    assert trl_utils._use_triton(torch.device("cpu"))
    loss_compact, grads_compact, compact_rows = _loss_and_grads(fused_model, ids, labels, monkeypatch)

    assert full_rows == [299] and compact_rows == [20]
    torch.testing.assert_close(loss_compact, loss_full)
    assert grads_full.keys() == grads_compact.keys() and "lm_head.weight" in grads_full
    for name in grads_full:
        torch.testing.assert_close(grads_compact[name], grads_full[name], rtol=1e-4, atol=1e-6)

    score_trained_positions_only(enabled=False)
    assert not trl_utils._use_triton(torch.device("cpu"))
