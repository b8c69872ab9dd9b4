"""Backends and the fake OpenAI server: the whole loop through `openai` on loopback, retries, faults, HF basics.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_backends.py
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from funreason.core.sections.chat import ChatOptions
from funreason.eval.backends import GenRequest, Sampling, ground_truth_script
from funreason.eval.backends.openai import OpenAIBackend
from funreason.eval.bfcl_layout import result_path as result_file
from funreason.eval.runner import LockstepRunner
from funreason.eval.tasks import load_tasks

from tests.fake_openai import FakeOpenAIServer, Fault


def test_fake_server_endpoints_and_faults():
    def responder(endpoint, request):
        prompt = request.get("prompt", "")
        if prompt == "500":
            return Fault(status=500)
        if prompt == "bad":
            return Fault(body=b"{not json")
        if prompt == "huge":
            return Fault(body=b"x" * 2_000_000)
        if prompt == "raw":
            return {"hello": "world"}
        return f"{endpoint}:{prompt}"

    with FakeOpenAIServer(responder) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url) as c:
            assert c.get("/models").json()["data"][0]["id"] == "fake-model"
            r = c.post("/completions", json={"model": "m", "prompt": "hi there"}).json()
            assert r["choices"][0]["text"] == "completions:hi there" and r["usage"]["prompt_tokens"] == 2
            r = c.post("/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}).json()
            assert r["choices"][0]["message"]["content"] == "chat/completions:"
            assert c.post("/completions", json={"prompt": "500"}).status_code == 500
            assert c.post("/completions", json={"prompt": "bad"}).content == b"{not json"
            assert len(c.post("/completions", json={"prompt": "huge"}).content) == 2_000_000
            assert c.post("/completions", json={"prompt": "raw"}).json() == {"hello": "world"}
        assert [e for e, _ in server.requests] == ["completions", "chat/completions"] + ["completions"] * 4


def test_fake_server_hang_and_latency_do_not_block_shutdown():
    server = FakeOpenAIServer(lambda e, r: Fault(hang=True), latency=0.01).start()
    with httpx.Client(base_url=server.base_url, timeout=0.3) as c, pytest.raises(httpx.TimeoutException):
        c.post("/completions", json={"prompt": "x"})
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive()


def test_openai_backend_retries_500_then_succeeds_and_reports_failures():
    seen = {"n": 0}

    def responder(endpoint, request):
        seen["n"] += 1
        if request["prompt"] == "always-fail":
            return Fault(status=503)
        if seen["n"] == 1:
            return Fault(status=500, headers={"retry-after": "0"})
        return "[ls()]"

    with FakeOpenAIServer(responder) as server:
        backend = OpenAIBackend(server.base_url, Sampling(), concurrency=4, max_retries=2, timeout=10)
        try:
            ok = backend.generate([GenRequest(("a", 0, 0), "hello", [1, 2, 3], 16)])
            assert ok[0].text == "[ls()]" and ok[0].error is None and seen["n"] == 2
            bad = backend.generate([GenRequest(("b", 0, 0), "always-fail", [1], 16)])
            assert bad[0].error is not None and "503" in bad[0].error
        finally:
            backend.close()
        sent = [r for _, r in server.requests]
        assert sent[0]["model"] == "fake-model" and sent[0]["max_tokens"] == 16 and sent[0]["temperature"] == 0.0


def test_whole_loop_through_openai_against_fake_server(tiny_tokenizer, tmp_path):
    """Ground-truth replay served over HTTP: the prompt text the server sees is the rendered prompt, and the result
    files score 100%; a 500 on the first request is retried; requests of one tick overlap (concurrency)."""
    tasks = load_tasks(["base"], limit=4)
    entries = tasks.all_entries()
    script = ground_truth_script(entries, tasks.ground_truth["base"], "pythonic")
    by_prompt: dict[str, GenRequest] = {}
    active = {"now": 0, "max": 0}
    lock = threading.Lock()
    first = {"done": False}

    def responder(endpoint, request):
        with lock:
            if not first["done"]:
                first["done"] = True
                return Fault(status=500)
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        try:
            threading.Event().wait(0.05)
            return script(by_prompt[request["prompt"]])
        finally:
            with lock:
                active["now"] -= 1

    class Recording(OpenAIBackend):
        def generate(self, requests):
            for r in requests:
                by_prompt[r.text] = r
            return super().generate(requests)

    with FakeOpenAIServer(responder) as server:
        backend = Recording(server.base_url, Sampling(), concurrency=4, max_retries=3)
        try:
            runner = LockstepRunner(backend, tiny_tokenizer, ChatOptions(), in_flight=4, progress=False)
            stats = runner.run(tasks.entries, tmp_path / "result" / "fake")
        finally:
            backend.close()
    assert stats["errors"] == 0 and active["max"] > 1
    rows = [json.loads(x) for x in result_file(tmp_path / "result" / "fake", "base").read_text().splitlines()]
    assert [r["id"] for r in rows] == [e["id"] for e in entries]
    from funreason.eval.score import score_results

    summary = score_results(tmp_path / "result", tmp_path / "score", "pythonic", categories=["base"])
    assert summary["models"]["fake"]["categories"]["multi_turn_base"]["accuracy"] == 1.0


def test_hf_backend_batches_left_padded_and_matches_single(tiny_model_dir, tiny_tokenizer):
    from funreason.eval.backends.hf import HFBackend

    backend = HFBackend(str(tiny_model_dir), tiny_tokenizer, Sampling(), micro_batch_size=3)
    prompts = ["hello world", "list the files in the current directory please", "cd"]
    reqs = [GenRequest((i, 0, 0), p, tiny_tokenizer(p)["input_ids"], 5) for i, p in enumerate(prompts)]
    batched = backend.generate(reqs)
    single = [backend.generate([r])[0] for r in reqs]
    assert [g.text for g in batched] == [g.text for g in single]  # greedy + left padding changes nothing
    assert all(g.prompt_tokens == len(r.ids) and 0 < g.completion_tokens <= 5 for g, r in zip(batched, reqs))
    assert backend.describe()["greedy"] is True


def test_hf_lockstep_decode_equals_one_at_a_time_generate(tiny_model_dir, tiny_tokenizer):
    """Unpadded prefill + batched decode over stacked KV caches gives model.generate's greedy tokens for each
    prompt alone, token for token, with rows stopping at eos or their own limit at different steps, and again
    when the prompts' prefixes come from the prefix cache (second round, and a prompt extending another)."""
    import torch
    from funreason.eval.backends.hf import HFBackend

    backend = HFBackend(str(tiny_model_dir), tiny_tokenizer, Sampling(), micro_batch_size=8)
    base = "You are a helpful assistant that calls tools. " * 40
    prompts = ["hello world", base + "what is 2+2", base + "what is 2+2 and then 3+3?", "cd", base]
    ids = [tiny_tokenizer(p)["input_ids"] for p in prompts]

    def alone(prompt_ids, limit, eos):
        out = backend.model.generate(
            input_ids=torch.tensor([prompt_ids]),
            attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
            max_new_tokens=limit,
            do_sample=False,
            eos_token_id=eos,
            pad_token_id=backend.pad_id,
            top_k=None,
        )
        return out[0, len(prompt_ids) :].tolist()

    # The random model rarely says <|im_end|>: make a token it does produce a stop token, so rows end early.
    stop = alone(ids[1], 12, backend.eos_ids)[5]
    backend.eos_ids = [*backend.eos_ids, stop]
    limits = [20, 20, 7, 20, 15]
    reqs = [GenRequest((i, 0, 0), p, x, n) for i, (p, x, n) in enumerate(zip(prompts, ids, limits))]
    expected = []
    for x, n in zip(ids, limits):
        toks = alone(x, n, backend.eos_ids)
        cut = next((j for j, t in enumerate(toks) if t in backend.eos_ids), None)
        text_toks = toks if cut is None else toks[:cut]
        expected.append(
            (tiny_tokenizer.decode(text_toks, skip_special_tokens=True), len(toks) if cut is None else cut + 1)
        )
    assert any(n < limit for (_, n), limit in zip(expected, limits))  # some row really stops at eos
    for _ in range(2):  # the second round reuses every prompt's cached KV
        got = [(g.text, g.completion_tokens) for g in backend.generate(reqs)]
        assert got == expected
    assert backend._prefix and backend.describe()["prefix_cache_tokens"] > 0


def test_hf_next_step_reuses_the_kv_of_the_generated_reply(tiny_model_dir, tiny_tokenizer):
    """A step's prompt extends the previous prompt by the model's own reply: the reply's KV, computed while
    decoding, is reused (only the new tokens are prefilled), and the output is still model.generate's."""
    import torch
    from funreason.eval.backends.hf import HFBackend

    backend = HFBackend(str(tiny_model_dir), tiny_tokenizer, Sampling(), micro_batch_size=4)
    first = tiny_tokenizer("You are a helpful assistant that calls tools. " * 20 + "list files")["input_ids"]
    other = tiny_tokenizer("cd into the folder")["input_ids"]
    reqs = [GenRequest((0, 0, 0), "", first, 9), GenRequest((1, 0, 0), "", other, 4)]  # rows stop apart
    backend.generate(reqs)
    reply = backend.model.generate(
        input_ids=torch.tensor([first]), max_new_tokens=9, do_sample=False, eos_token_id=None, top_k=None
    )[0, len(first) :].tolist()
    follow = [*first, *reply, *tiny_tokenizer(" and then read it")["input_ids"]]
    reuse, _ = backend._lookup(torch.tensor(follow))
    assert reuse == len(first) + len(reply) - 1  # all but the never-fed last reply token
    assert tuple(first) not in backend._prefix  # superseded by prompt + reply
    expected = backend.model.generate(
        input_ids=torch.tensor([follow]), max_new_tokens=8, do_sample=False, eos_token_id=None, top_k=None
    )[0, len(follow) :].tolist()
    got = backend.generate([GenRequest((0, 1, 0), "", follow, 8)])[0]
    assert got.text == tiny_tokenizer.decode(expected, skip_special_tokens=True)


def test_cli_eval_through_openai_writes_results_scores_and_metadata(tiny_model_dir, tmp_path):
    """`funreason eval --config ... --model ... --label ...` end to end (backend openai on loopback), then
    `--resume` keeps every finished entry."""
    import yaml
    from funreason.eval.cli import main

    tasks = load_tasks(["base"], limit=2)
    script = ground_truth_script(tasks.all_entries(), tasks.ground_truth["base"], "pythonic")
    prompts: dict[str, tuple] = {}

    def responder(endpoint, request):
        return script(prompts[request["prompt"]]) if request["prompt"] in prompts else "Done."

    recipe = {"model": str(tiny_model_dir), "run_dir": str(tmp_path / "run"), "eval": {"categories": ["base"]}}
    cfg = tmp_path / "r.yaml"
    cfg.write_text(yaml.safe_dump(recipe))
    import funreason.eval.backends.openai as ob

    original = ob.OpenAIBackend.generate

    def recording(self, requests):
        prompts.update({r.text: r for r in requests})
        return original(self, requests)

    ob.OpenAIBackend.generate = recording
    try:
        with FakeOpenAIServer(responder) as server:
            args = ["--config", str(cfg), "--model", str(tiny_model_dir), "--label", "m1", "eval.backend=openai"]
            args += [f"eval.base_url={server.base_url}", "eval.limit=2"]
            assert main(args) == 0
            n = len(server.requests)
            assert main(args + ["--resume"]) == 0
            assert len(server.requests) == n  # nothing redone
    finally:
        ob.OpenAIBackend.generate = original
    out = tmp_path / "run" / "eval" / "m1"
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["label"] == "m1" and meta["tool_format"] == "pythonic" and meta["sampling"]["temperature"] == 0.0
    assert meta["token_counts"]["prompt"] > 0 and meta["provenance"]["bfcl_eval"]
    assert meta["scores"]["models"]["m1"]["categories"]["multi_turn_base"]["accuracy"] == 1.0
    assert (out / "result" / "m1" / "multi_turn" / "BFCL_v4_multi_turn_base_result.json").is_file()
