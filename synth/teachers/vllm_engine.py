"""A teacher run by an in-process vLLM engine, batching every pending request of every in-flight trajectory.

    synth:
      teacher: {kind: vllm, model: /models/Qwen3-30B-A3B, tensor_parallel_size: 2, batch_window_ms: 5}

vLLM is imported only when this teacher is built (it is not needed anywhere else). Requests are gathered for
`batch_window_ms` and sent as one `LLM.chat` call with per-request sampling parameters (per-role settings); the
engine does continuous batching inside that call. One engine serves one model, so per-role `model` overrides are
not supported here (use kind `openai` against several servers for that).
"""

from __future__ import annotations

import gc

from funreason.core.errors import UserError
from funreason.core.sections.teacher import TeacherConfig
from funreason.synth.teachers.base import Role, TeacherError
from funreason.synth.teachers.batching import Batcher, Request


class VLLMTeacher:
    def __init__(self, config: TeacherConfig):
        try:
            import vllm
        except ImportError:
            raise UserError("synth.teacher.kind 'vllm' needs the vllm package (pip install vllm)") from None
        if any(r.model for r in config.roles.values()):
            raise UserError("synth.teacher.roles.*.model is not supported by kind 'vllm' (one engine, one model)")
        self.config = config
        self.name = f"vllm:{config.model}"
        self._vllm = vllm
        self.llm = vllm.LLM(
            model=config.model,
            dtype=config.dtype,
            tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            # Without a cap vLLM sizes for the model's full context (262k for Qwen3-4B-2507), which may not fit.
            **({"max_model_len": config.max_model_len} if config.max_model_len else {}),
        )
        self.batcher = Batcher(self._run_batch, config.batch_window_ms, config.max_batch_size)

    def _run_batch(self, requests: list[Request]) -> list[str]:
        params = []
        for r in requests:
            s = self.config.settings_for(r.role)
            params.append(self._vllm.SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens))
        outputs = self.llm.chat([r.messages for r in requests], sampling_params=params, use_tqdm=False)
        return [o.outputs[0].text if o.outputs else "" for o in outputs]

    async def generate(self, role: Role, messages: list[dict], payload: dict) -> str:
        text = await self.batcher.submit(Request(role, messages))
        if not text.strip():
            raise TeacherError("empty", "the engine returned an empty reply")
        return text

    async def aclose(self) -> None:
        # vLLM's EngineCore/worker processes stop only when the LLM object is collected.
        self.llm = None
        gc.collect()
