"""A teacher run by transformers `generate` in-process: for small models (tests, CPU, one GPU).

    synth:
      teacher: {kind: hf, model: runs/smoke/tiny-model, max_tokens: 256, batch_window_ms: 5}

Pending requests of all in-flight trajectories are batched (left padding) into one `generate` call per batch
window. Sampling follows each role's temperature and top_p (a temperature of 0 means greedy); requests with
different settings in one window are generated in separate sub-batches. Per-role `model` overrides are not
supported (one model in memory).
"""

from __future__ import annotations

from itertools import groupby

from funreason.core.errors import UserError
from funreason.core.sections.teacher import TeacherConfig
from funreason.synth.teachers.base import Role, TeacherError
from funreason.synth.teachers.batching import Batcher, Request


class HFTeacher:
    def __init__(self, config: TeacherConfig):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if any(r.model for r in config.roles.values()):
            raise UserError("synth.teacher.roles.*.model is not supported by kind 'hf' (one model in memory)")
        self.config = config
        self.name = f"hf:{config.model}"
        self.device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(config.model, padding_side="left")
            self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=config.dtype).to(self.device)
        except OSError as e:
            raise UserError(f"synth.teacher.model {config.model!r} is not a loadable local model: {e}") from None
        self.model.eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batcher = Batcher(self._run_batch, config.batch_window_ms, config.max_batch_size)

    def _run_batch(self, requests: list[Request]) -> list[str]:
        texts: list[str] = [""] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: self._key(requests[i]))
        for key, group in groupby(order, key=lambda i: self._key(requests[i])):
            idx = list(group)
            for i, text in zip(idx, self._generate([requests[i].messages for i in idx], *key)):
                texts[i] = text
        return texts

    def _key(self, request: Request) -> tuple[float, float, int]:
        s = self.config.settings_for(request.role)
        return (s.temperature, s.top_p, s.max_tokens)

    def _generate(self, conversations: list[list[dict]], temperature: float, top_p: float, max_tokens: int):
        import torch

        prompts = [
            self.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in conversations
        ]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sample = temperature > 0
        kwargs = {"do_sample": sample, "max_new_tokens": max_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if sample:
            kwargs.update(temperature=temperature, top_p=top_p)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new, skip_special_tokens=True)

    async def generate(self, role: Role, messages: list[dict], payload: dict) -> str:
        text = await self.batcher.submit(Request(role, messages))
        if not text.strip():
            raise TeacherError("empty", "the model returned an empty reply")
        return text

    async def aclose(self) -> None:
        pass
