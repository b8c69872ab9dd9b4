"""transformers backend: per-prompt unpadded prefill, then batched greedy (or sampled) decode over stacked KV caches.

    backend = HFBackend("runs/smoke/tiny-model", tokenizer, Sampling(), micro_batch_size=8)
    outs = backend.generate(requests)     # requests: list[eval.backends.GenRequest]

Prompt ids are used as chat.render produced them (never re-tokenized). Each prompt is prefilled alone (no padding,
so no attention wasted on pad tokens), reusing the KV of the longest cached prefix (an entry's previous step with
the reply the model generated, or another entry with the same system prompt; LRU, bounded by `prefix_cache_gib`;
a reply re-rendered into other tokens is reused up to where it differs); then up to `micro_batch_size`
rows decode together, their caches left-padded into one preallocated buffer under an attention mask. Greedy output
equals `model.generate` on each prompt alone, token for token (tests/eval/test_backends.py). Generation stops at
the model's eos tokens (`<|im_end|>`, `<|endoftext|>`); the returned text excludes them (as vLLM's default
skip_special_tokens does). Models with sliding-window layers are not supported by the stacked cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import torch
from funreason.core.modelfiles import loading
from funreason.eval.backends import Generation, GenRequest, Sampling
from transformers import AutoModelForCausalLM, DynamicCache
from transformers.cache_utils import DynamicLayer

STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")


class _GrowingLayer(DynamicLayer):
    """A batch's KV for one layer: every row's cache left-padded into one buffer with room for the new tokens,
    written in place (a DynamicLayer re-concatenates the whole cache at every step)."""

    def __init__(self, rows: list[tuple[torch.Tensor, torch.Tensor]], lengths: list[int], width: int, room: int):
        super().__init__()
        k0 = rows[0][0]
        shape = (len(rows), k0.shape[1], width + room, k0.shape[3])
        self.buf_k, self.buf_v = k0.new_zeros(shape), k0.new_zeros(shape)
        for i, ((k, v), n) in enumerate(zip(rows, lengths)):
            self.buf_k[i, :, width - n : width] = k[0]
            self.buf_v[i, :, width - n : width] = v[0]
        self.length = width
        self.dtype, self.device, self.is_initialized = k0.dtype, k0.device, True
        self._views()

    def _views(self) -> None:
        self.keys, self.values = self.buf_k[:, :, : self.length], self.buf_v[:, :, : self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        n = key_states.shape[-2]
        self.buf_k[:, :, self.length : self.length + n] = key_states
        self.buf_v[:, :, self.length : self.length + n] = value_states
        self.length += n
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.buf_k, self.buf_v = self.buf_k[indices], self.buf_v[indices]
        self._views()


class HFBackend:
    name = "hf"

    def __init__(
        self,
        model_path: str,
        tokenizer,
        sampling: Sampling,
        micro_batch_size: int = 4,
        dtype="auto",
        prefix_cache_gib: float = 2.0,
    ):
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.micro_batch_size = max(1, micro_batch_size)
        torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
        with loading(model_path, "model"):  # a truncated or corrupt checkpoint is one line naming it
            self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype)
        self.model.eval()
        self.device = next(self.model.parameters()).device
        self.eos_ids = self._eos_ids()
        # token ids -> per-layer (k, v) of that sequence, least recently used first; bounded by total tokens
        cfg = self.model.config.get_text_config()
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
        token_bytes = 2 * cfg.num_hidden_layers * kv_heads * head_dim * self.model.dtype.itemsize
        self.prefix_cache_tokens = int(prefix_cache_gib * (1 << 30) / token_bytes)
        if any("sliding" in str(t) for t in (getattr(cfg, "layer_types", None) or [])):
            raise ValueError(f"{model_path}: sliding-window attention layers are not supported by the hf backend")
        self._prefix: OrderedDict[tuple, tuple[torch.Tensor, list]] = OrderedDict()
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

    # --- prefix cache: the KV of sequences seen before (earlier steps of an entry, shared system prompts) -------
    def _lookup(self, ids: torch.Tensor) -> tuple[int, list | None]:
        """(tokens reusable, per-layer (k, v) of the longest cached prefix of `ids`); at least one token is left
        to run, since the prompt's last position gives the first generated token."""
        best, best_kv, best_key = 0, None, None
        for key, (cids, kv) in self._prefix.items():
            n = min(len(cids), len(ids) - 1)
            if n <= best:
                continue
            diff = (cids[:n] != ids[:n]).nonzero()
            common = int(diff[0]) if len(diff) else n
            if common > best:
                best, best_kv = common, kv
                best_key = key
        if best_kv is not None:
            self._prefix.move_to_end(best_key)
        return best, best_kv

    def _remember(self, ids: torch.Tensor, kv: list) -> None:
        if self.prefix_cache_tokens <= 0:
            return
        key = tuple(ids.tolist())
        self._prefix[key] = (ids, kv)
        self._prefix.move_to_end(key)
        total = sum(len(c) for c, _ in self._prefix.values())
        while total > self.prefix_cache_tokens and len(self._prefix) > 1:
            _, (c, _) = self._prefix.popitem(last=False)
            total -= len(c)

    def _remember_reply(self, cache, row: int, prompt: list[int], reply: list[int], width: int) -> None:
        """Cache the KV of prompt + reply (all but the last reply token, which was never fed), computed while
        decoding: the entry's next prompt extends it, so the next step prefills only the new tool results or user
        turn instead of re-running the whole reply. It replaces the prompt-only entry, a prefix of it."""
        if len(reply) < 2 or self.prefix_cache_tokens <= 0:
            return
        start = width - len(prompt)
        kv = [
            (
                layer.buf_k[row : row + 1, :, start : layer.length].clone(),
                layer.buf_v[row : row + 1, :, start : layer.length].clone(),
            )
            for layer in cache.layers
        ]
        self._prefix.pop(tuple(prompt), None)
        self._remember(torch.tensor([*prompt, *reply[:-1]], dtype=torch.long), kv)

    def _prefill(self, ids: list[int]) -> tuple[list, torch.Tensor]:
        """One unpadded forward over the part of `ids` no cached prefix covers: (per-layer (k, v), last logits)."""
        t_ids = torch.tensor(ids, dtype=torch.long)
        reuse, kv = self._lookup(t_ids)
        cache = DynamicCache(
            ddp_cache_data=[(k[:, :, :reuse], v[:, :, :reuse]) for k, v in kv] if kv else None,
            config=self.model.config,
        )
        out = self.model(
            input_ids=t_ids[reuse:].unsqueeze(0).to(self.device),
            past_key_values=cache,
            position_ids=torch.arange(reuse, len(ids), device=self.device).unsqueeze(0),
            use_cache=True,
            logits_to_keep=1,
        )
        layers = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        self._remember(t_ids, layers)
        return layers, out.logits[0, -1].float()

    def _next_tokens(self, logits: torch.Tensor) -> torch.Tensor:
        if self.sampling.greedy:
            return logits.argmax(-1)
        logits = logits / self.sampling.temperature
        if self.sampling.top_p < 1.0:
            sorted_logits, order = logits.sort(-1, descending=True)
            drop = sorted_logits.softmax(-1).cumsum(-1) > self.sampling.top_p
            drop[..., 1:] = drop[..., :-1].clone()
            drop[..., 0] = False
            logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
        return torch.multinomial(logits.softmax(-1), 1).squeeze(-1)

    @torch.inference_mode()
    def _generate_batch(self, requests: list[GenRequest]) -> list[Generation]:
        """Prefill each prompt alone (no padding, cached prefixes reused), then decode all rows together over
        their KV caches stacked left-padded, with an attention mask; a row leaves the batch at eos or its limit."""
        t = time.perf_counter()
        kvs, first = [], []
        for r in requests:
            kv, logits = self._prefill(r.ids)
            kvs.append(kv)
            first.append(logits)
        tokens = self._next_tokens(torch.stack(first))
        lengths = [len(r.ids) for r in requests]
        width = max(lengths)
        room = max(r.max_new_tokens for r in requests)
        cache = DynamicCache(config=self.model.config)
        cache.layers = [_GrowingLayer([kv[layer] for kv in kvs], lengths, width, room) for layer in range(len(kvs[0]))]
        del kvs
        mask = torch.zeros((len(requests), width), dtype=torch.long, device=self.device)
        for i, n in enumerate(lengths):
            mask[i, width - n :] = 1
        positions = torch.tensor(lengths, dtype=torch.long, device=self.device)
        rows = list(range(len(requests)))  # request index of each live batch row
        new: list[list[int]] = [[] for _ in requests]
        limits = [r.max_new_tokens for r in requests]
        eos = set(self.eos_ids)
        while True:
            keep = []
            for b, i in enumerate(rows):
                tok = int(tokens[b])
                new[i].append(tok)
                if tok not in eos and len(new[i]) < limits[i]:
                    keep.append(b)
                else:
                    self._remember_reply(cache, b, requests[i].ids, new[i], width)
            if not keep:
                break
            if len(keep) < len(rows):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                mask, positions, tokens = mask[index], positions[index], tokens[index]
                rows = [rows[b] for b in keep]
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            out = self.model(
                input_ids=tokens.unsqueeze(1),
                attention_mask=mask,
                past_key_values=cache,
                position_ids=positions.unsqueeze(1),
                use_cache=True,
            )
            positions = positions + 1
            tokens = self._next_tokens(out.logits[:, -1].float())
        dt = time.perf_counter() - t
        results = []
        for i, r in enumerate(requests):
            toks = new[i]
            n = len(toks)
            if toks and toks[-1] in eos:
                toks = toks[:-1]
            text = self.tokenizer.decode(toks, skip_special_tokens=True)
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
            "prefix_cache_tokens": self.prefix_cache_tokens,
            "dtype": str(self.model.dtype),
            "eos_token_ids": self.eos_ids,
        }

    def close(self) -> None:
        self._prefix.clear()
        del self.model
