"""What every teacher (LLM client) offers the synthesis agents: one async call per agent request.

The agents (synth/agents.py) build both an LLM prompt (`messages`) and the structured facts behind it
(`payload`: the executed trace, the advanced tool, the failed calls...). LLM teachers answer from `messages`;
the deterministic `template` teacher answers from `payload`. Either way the agent validates the text it gets.
"""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar
from typing import Literal, Protocol

Role = Literal["tooling", "querying", "reasoning", "critic", "closing"]

# Retried teacher faults of the trajectory being synthesized, by kind: the pipeline sets a Counter around each
# trajectory (its asyncio task's context); a client counts every retry into it (`count_retry`). Final faults are
# TeacherErrors and counted as rejections; these are the ones a retry recovered from, or that preceded a final one.
RETRIED: ContextVar[Counter | None] = ContextVar("teacher_retried", default=None)


# The trajectory being synthesized, as the pipeline names it: a server-routing client sends all of one
# conversation's requests to one server (core/routing.py) and counts there which server answered each (by URL).
CONVERSATION: ContextVar[str | None] = ContextVar("teacher_conversation", default=None)
SERVED: ContextVar[Counter | None] = ContextVar("teacher_served", default=None)


def count_retry(kind: str) -> None:
    counter = RETRIED.get()
    if counter is not None:
        counter[kind] += 1


def count_served(url: str) -> None:
    counter = SERVED.get()
    if counter is not None:
        counter[url] += 1


class TeacherError(Exception):
    """A teacher request failed for good (after retries). `kind` is counted in stats: timeout, http_5xx,
    http_4xx, connection, too_large, empty, ..."""

    def __init__(self, kind: str, message: str = ""):
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind = kind


class Teacher(Protocol):
    name: str  # recorded in every trajectory's metadata ("template" marks the offline baseline)

    async def generate(self, role: Role, messages: list[dict], payload: dict) -> str:
        """Return the teacher's text for one agent request, or raise TeacherError."""
        ...

    async def aclose(self) -> None: ...
