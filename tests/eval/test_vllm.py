"""The vLLM backend (needs the vllm venv: `make test-vllm`); skipped where vllm is not importable.

.venv-vllm/bin/python -m pytest -q -m vllm tests/eval/test_vllm.py
"""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")
pytestmark = pytest.mark.vllm


def test_vllm_backend_matches_hf_greedy(tiny_model_dir, tiny_tokenizer):
    from funreason.eval.backends import GenRequest, Sampling
    from funreason.eval.backends.hf import HFBackend
    from funreason.eval.backends.vllm import VLLMBackend

    prompts = ["hello world", "list the files in the current directory please"]
    reqs = [GenRequest((i, 0, 0), p, tiny_tokenizer(p)["input_ids"], 6) for i, p in enumerate(prompts)]
    vb = VLLMBackend(str(tiny_model_dir), Sampling(), max_model_len=2048, dtype="float32")
    try:
        outs = vb.generate(reqs)
        assert vb.describe()["enable_prefix_caching"] is True
    finally:
        vb.close()
    hf = HFBackend(str(tiny_model_dir), tiny_tokenizer, Sampling(), dtype="float32").generate(reqs)
    assert [o.text for o in outs] == [h.text for h in hf]
    assert all(o.prompt_tokens == len(r.ids) and 0 < o.completion_tokens <= 6 for o, r in zip(outs, reqs))
