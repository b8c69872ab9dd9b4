"""vLLM backend: an in-process `vllm.LLM` with prefix caching, fed the rendered prompt token ids.

    backend = VLLMBackend("/models/Qwen3-4B-Instruct-2507", Sampling(), max_model_len=40960)
    outs = backend.generate(requests)     # one LLM.generate call for the whole tick

Multi-turn prompts share long prefixes (the tool docs, earlier turns), so prefix caching is what makes the
lockstep batch cheap. vllm is imported only when this backend is built (it is an optional extra).
"""

from __future__ import annotations

import gc
import time

from funreason.eval.backends import Generation, GenRequest, Sampling


class VLLMBackend:
    name = "vllm"

    def __init__(
        self,
        model_path: str,
        sampling: Sampling,
        max_model_len: int | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        tensor_parallel_size: int = 1,
    ):
        import vllm  # deferred on purpose: heavy, optional (the vllm extra), and starts its own processes

        self._vllm = vllm
        self.sampling = sampling
        self.version = vllm.__version__
        kwargs = dict(
            model=model_path,
            dtype=dtype,
            enable_prefix_caching=True,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            seed=sampling.seed if sampling.seed is not None else 0,
        )
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self.llm = vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()

    def _params(self, max_tokens: int):
        # Text is decoded here from the token ids, as the hf backend does (detokenize=False): vLLM's incremental
        # detokenizer holds back an unfinished UTF-8 tail, so the same tokens could score differently per backend.
        if self.sampling.greedy:
            return self._vllm.SamplingParams(temperature=0.0, max_tokens=max_tokens, detokenize=False)
        return self._vllm.SamplingParams(
            temperature=self.sampling.temperature, top_p=self.sampling.top_p, max_tokens=max_tokens, detokenize=False
        )

    def generate(self, requests: list[GenRequest]) -> list[Generation]:
        prompts = [{"prompt_token_ids": list(r.ids)} for r in requests]
        params = [self._params(r.max_new_tokens) for r in requests]
        t = time.perf_counter()
        outs = self.llm.generate(prompts, params, use_tqdm=False)
        dt = time.perf_counter() - t
        return [
            Generation(self._text(o.outputs[0].token_ids), len(r.ids), len(o.outputs[0].token_ids), dt)
            for r, o in zip(requests, outs)
        ]

    def _text(self, token_ids) -> str:
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=True)

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "vllm": self.version,
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
            "seed": self.sampling.seed,
            "greedy": self.sampling.greedy,
            "enable_prefix_caching": True,
        }

    def close(self) -> None:
        # The engine's processes stop when the LLM object is collected; safe to call twice.
        self.llm = None
        gc.collect()
