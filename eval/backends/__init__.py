"""Generation backends for the multi-turn runner: one call generates the next step for a whole batch of entries.

    from funreason.eval.backends import make_backend
    backend = make_backend(section, model_path, tokenizer)        # section: core.sections.eval.EvalSection
    outs = backend.generate([GenRequest(key=("multi_turn_base_0", 0, 0), text=..., ids=[...], max_new_tokens=64)])
    backend.describe()   # what goes into metadata.json: backend name, sampling params, max tokens
    backend.close()

Backends: `hf` (batched transformers generate), `vllm` (in-process LLM, prefix caching), `openai` (any
OpenAI-compatible server through /v1/completions). All receive the prompt exactly as chat.render.render_prompt
made it (text and token ids) and return the text after the prompt, without the stop token.
`ScriptedBackend` answers from a Python function; `ground_truth_script` makes it replay BFCL's ground truth
(the harness self-check: a replay must score 100%; tests and benchmarks/eval_speed.py use it).
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from funreason.chat.formats import tool_format
from funreason.envs.dispatch import parse_call
from funreason.envs.resolve import resolve_env


@dataclass
class GenRequest:
    key: tuple  # (entry_id, turn, step): lets scripted backends and logs know whose prompt this is
    text: str
    ids: list[int]
    max_new_tokens: int


def generation_budget(prompt_tokens: int, max_new_tokens: int, max_context: int | None) -> int | str:
    """New tokens a prompt may take, as BFCL's OSS handler computes them: min(cap, context - prompt - 2); or the
    error text (a str) when no room is left, which BFCL reports as that entry's inference error."""
    if max_context is None:
        return max_new_tokens
    budget = min(max_new_tokens, max_context - prompt_tokens - 2)
    if budget < 1:
        return f"prompt of {prompt_tokens} tokens does not fit the context limit of {max_context} tokens"
    return budget


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency: float  # seconds this request took (for a batched call: the whole batch's wall time)
    error: str | None = None  # set when this one request failed for good; the runner makes it an inference_error


class Backend(Protocol):
    name: str

    def generate(self, requests: list[GenRequest]) -> list[Generation]: ...

    def describe(self) -> dict: ...

    def close(self) -> None: ...


@dataclass
class Sampling:
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


class ScriptedBackend:
    """Replies come from `script(request) -> str`; token counts are the prompt ids and the reply's characters."""

    name = "scripted"

    def __init__(self, script: Callable[[GenRequest], str]):
        self.script = script
        self.calls: list[int] = []  # batch size of every generate() call (lockstep checks)

    def generate(self, requests: list[GenRequest]) -> list[Generation]:
        self.calls.append(len(requests))
        t = time.perf_counter()
        texts = [self.script(r) for r in requests]
        dt = time.perf_counter() - t
        return [Generation(x, len(r.ids), len(x), dt) for r, x in zip(requests, texts)]

    def describe(self) -> dict:
        return {"backend": self.name}

    def close(self) -> None:
        pass


def keyword_calls(call_strings: list[str], instances: dict) -> list:
    """Ground-truth call strings as ToolCalls with every argument named (BFCL's prompting decoder drops
    positional arguments, so a replay must name them), using the environment methods' signatures."""
    owner = {name: inst for inst in instances.values() for name in dir(type(inst)) if not name.startswith("_")}
    calls = []
    for text in call_strings:
        call = parse_call(text)
        if isinstance(call, str):
            raise ValueError(f"ground truth {text!r} does not parse: {call}")
        if call.positional:
            bound = inspect.signature(getattr(owner[call.name], call.name)).bind(*call.positional, **call.arguments)
            call = type(call)(call.name, dict(bound.arguments))
        calls.append(call)
    return calls


def ground_truth_script(entries: list[dict], ground_truth: dict[str, list[list[str]]], fmt: str, reply: str = "Done."):
    """A `ScriptedBackend` script that replays the ground truth: step 0 of a turn emits all of that turn's calls
    (in `fmt`: pythonic or hermes), every later step (and a turn whose ground truth is empty) says `reply`.
    A perfect model under BFCL's loop; its result files must score 100%."""
    render = tool_format(fmt).render_calls
    texts: dict[tuple[str, int], str] = {}
    for e in entries:
        instances = resolve_env(e["involved_classes"]).make_instances(e.get("initial_config"))
        for turn, calls in enumerate(ground_truth[e["id"]]):
            texts[(e["id"], turn)] = render(keyword_calls(calls, instances)) if calls else reply

    def script(request: GenRequest) -> str:
        entry_id, turn, step = request.key
        return texts[(entry_id, turn)] if step == 0 else reply

    return script


def make_backend(section, model_path: str, tokenizer, seed: int | None = None) -> Backend:
    """The backend a recipe's `eval:` section asks for. Each backend module is imported here, on purpose: they pull
    heavy optional packages (torch and transformers, vllm, openai) that the other backends do not need."""
    sampling = Sampling(section.temperature, section.top_p, section.seed if section.seed is not None else seed)
    if section.backend == "hf":
        from funreason.eval.backends.hf import HFBackend

        return HFBackend(
            model_path, tokenizer, sampling, micro_batch_size=section.micro_batch_size, dtype=section.dtype
        )
    if section.backend == "vllm":
        from funreason.eval.backends.vllm import VLLMBackend

        return VLLMBackend(
            model_path,
            sampling,
            max_model_len=section.max_context,
            dtype=section.dtype,
            gpu_memory_utilization=section.gpu_memory_utilization,
            tensor_parallel_size=section.tensor_parallel_size,
        )
    if section.backend == "openai":
        from funreason.eval.backends.openai import OpenAIBackend

        return OpenAIBackend(
            section.urls(),
            sampling,
            model=section.served_model,
            api_key=os.environ.get(section.api_key_env) or "EMPTY",
            concurrency=section.concurrency,
            timeout=section.request_timeout,
            max_retries=section.max_retries,
            cooldown_s=section.server_cooldown_s,
        )
    raise ValueError(f"unknown backend {section.backend!r}")


__all__ = [
    "Backend",
    "GenRequest",
    "Generation",
    "Sampling",
    "ScriptedBackend",
    "ground_truth_script",
    "keyword_calls",
    "make_backend",
]
