"""Teachers: the LLM clients that play the FunReason-MT agents (see synth/teachers/base.py for the protocol).

    from funreason.synth.teachers import make_teacher
    teacher = make_teacher(config.teacher)      # template | openai | vllm | hf

`make_teacher` fails fast with a one-line UserError for a teacher that cannot work: an unreachable server
(probed once with GET /models), a model the server does not serve, a missing vllm package, a bad model path.
Heavy imports (vllm, torch/transformers) happen only for the kind asked for.
"""

from __future__ import annotations

from funreason.core.sections.teacher import TeacherConfig
from funreason.synth.teachers.base import Teacher, TeacherError

__all__ = ["Teacher", "TeacherError", "make_teacher"]


def make_teacher(config: TeacherConfig) -> Teacher:
    # Each teacher is imported only when chosen: vllm, transformers and the HTTP clients are heavy or optional.
    if config.kind == "template":
        from funreason.synth.teachers.template import TemplateTeacher

        return TemplateTeacher()
    if config.kind == "openai":
        from funreason.synth.teachers.openai_client import OpenAITeacher, probe_server

        model, down = probe_server(config) if config.probe else (config.model, [])
        return OpenAITeacher(config, model=model, down=down)
    if config.kind == "vllm":
        from funreason.synth.teachers.vllm_engine import VLLMTeacher

        return VLLMTeacher(config)
    if config.kind == "hf":
        from funreason.synth.teachers.hf_local import HFTeacher

        return HFTeacher(config)
    raise ValueError(f"unknown teacher kind {config.kind!r}")
