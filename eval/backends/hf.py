"""transformers backend: batched `generate` over already-rendered prompt ids, left padded, greedy by default.

    backend = HFBackend("runs/smoke/tiny-model", tokenizer, Sampling(), micro_batch_size=8)
    outs = backend.generate(requests)     # requests: list[eval.backends.GenRequest]

Prompt ids are used as chat.render produced them (never re-tokenized). Generation stops at the model's eos tokens
(`<|im_end|>`, `<|endoftext|>`); the returned text excludes them (as vLLM's default skip_special_tokens does).
"""

from __future__ import annotations

import time

import torch

from eval.backends import Generation, GenRequest, Sampling

STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")


class HFBackend:
    name = "hf"

    def __init__(self, model_path: str, tokenizer, sampling: Sampling, micro_batch_size: int = 4, dtype="auto"):
        from transformers import AutoModelForCausalLM

        self.tokenizer = tokenizer
        self.sampling = sampling
        self.micro_batch_size = max(1, micro_batch_size)
        torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype)
        self.model.eval()
        self.device = next(self.model.parameters()).device
        self.eos_ids = self._eos_ids()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)

    def _eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = [] if ids is None else ([ids] if isinstance(ids, int) else list(ids))
        vocab = self.tokenizer.get_vocab()
        for tok in (self.tokenizer.eos_token, *STOP_TOKENS):
            if tok in vocab and vocab[tok] not in ids:
                ids.append(vocab[tok])
        return ids

    @torch.inference_mode()
    def _generate_batch(self, requests: list[GenRequest]) -> list[Generation]:
        width = max(len(r.ids) for r in requests)
        input_ids = torch.full((len(requests), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(requests), width), dtype=torch.long)
        for i, r in enumerate(requests):
            input_ids[i, width - len(r.ids) :] = torch.tensor(r.ids, dtype=torch.long)
            mask[i, width - len(r.ids) :] = 1
        kwargs = dict(do_sample=False)
        if not self.sampling.greedy:
            kwargs = dict(do_sample=True, temperature=self.sampling.temperature, top_p=self.sampling.top_p)
        t = time.perf_counter()
        out = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=mask.to(self.device),
            max_new_tokens=max(r.max_new_tokens for r in requests),
            eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id,
            top_k=None,
            **kwargs,
        )
        dt = time.perf_counter() - t
        results = []
        for i, r in enumerate(requests):
            new = out[i, width:].tolist()[: r.max_new_tokens]
            n = len(new)
            for j, tok in enumerate(new):
                if tok in self.eos_ids:
                    n = j + 1
                    new = new[:j]
                    break
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            results.append(Generation(text, len(r.ids), n, dt))
        return results

    def generate(self, requests: list[GenRequest]) -> list[Generation]:
        # Similar lengths together: less left padding per micro-batch.
        order = sorted(range(len(requests)), key=lambda i: len(requests[i].ids))
        out: list[Generation | None] = [None] * len(requests)
        for start in range(0, len(order), self.micro_batch_size):
            chunk = order[start : start + self.micro_batch_size]
            for i, g in zip(chunk, self._generate_batch([requests[i] for i in chunk])):
                out[i] = g
        return out  # type: ignore[return-value]

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
            "seed": self.sampling.seed,
            "greedy": self.sampling.greedy,
            "micro_batch_size": self.micro_batch_size,
            "dtype": str(self.model.dtype),
            "eos_token_ids": self.eos_ids,
        }

    def close(self) -> None:
        del self.model
