"""The `synth.teacher` recipe section: which LLM plays the FunReason-MT agents, and how it is reached.

    synth:
      teacher:
        kind: openai                      # template | openai | vllm | hf
        base_url: http://127.0.0.1:8000/v1   # or several: base_urls: [http://node1:8000/v1, http://node2:8000/v1]
        model: Qwen/Qwen3-30B-A3B         # default model for every role
        temperature: 0.7
        concurrency: 64                   # requests in flight at once
        roles:                            # per-role overrides (tooling, querying, reasoning, critic, closing)
          reasoning: {temperature: 0.6, max_tokens: 4096}
          critic: {model: other-model, temperature: 0.2}

`settings_for(role)` gives the effective model and sampling values of one role; `urls()` the servers to use
(`base_urls`, else `base_url`): each trajectory goes to one of them by a stable hash of its id (core/routing.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from funreason.core.errors import RecipeError
from funreason.core.sections.checks import at_least, ratio

ROLES = ("tooling", "querying", "reasoning", "critic", "closing")


@dataclass
class RoleSettings:
    """Per-role overrides; a key left out (null) falls back to the teacher-wide value."""

    model: str | None = field(default=None, metadata={"help": "Model for this role (openai: served model name)."})
    temperature: float | None = field(default=None, metadata={"help": "Sampling temperature for this role."})
    top_p: float | None = field(default=None, metadata={"help": "Nucleus sampling top-p for this role."})
    max_tokens: int | None = field(default=None, metadata={"help": "Most tokens generated per reply for this role."})


@dataclass(frozen=True)
class Sampling:
    """The effective settings of one role (what a request is sent with)."""

    model: str | None
    temperature: float
    top_p: float
    max_tokens: int


@dataclass
class TeacherConfig:
    kind: Literal["template", "openai", "vllm", "hf"] = field(
        default="template",
        metadata={
            "help": "template: deterministic offline baseline; openai: any OpenAI-compatible server; "
            "vllm: in-process engine; hf: transformers generation."
        },
    )
    model: str | None = field(
        default=None,
        metadata={"help": "Model name (openai; null = the server's first model) or local path (vllm, hf)."},
    )
    base_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."}
    )
    base_urls: list[str] | None = field(
        default=None,
        metadata={
            "help": "openai: several servers of the same model (overrides base_url); each trajectory's requests go "
            "to one of them by a stable hash of its id, a dead one's trajectories go on elsewhere (docs/serving.md)."
        },
    )
    server_cooldown_s: float = field(
        default=30.0, metadata={"help": "openai: how long a dead or failing server is left out before a probe."}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "Environment variable holding the API key (openai); local servers need none."},
    )
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature (every role unless overridden)."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling top-p (every role unless overridden)."})
    max_tokens: int = field(default=2048, metadata={"help": "Most tokens per reply (every role unless overridden)."})
    roles: dict[str, RoleSettings] = field(
        default_factory=dict,
        metadata={
            "help": f"Per-role overrides of model / temperature / top_p / max_tokens; roles: {', '.join(ROLES)}."
        },
    )
    concurrency: int = field(
        default=64, metadata={"help": "Most teacher requests in flight at once (openai: open connections)."}
    )
    timeout_s: float = field(default=120.0, metadata={"help": "Whole-request deadline in seconds (openai)."})
    connect_timeout_s: float = field(default=10.0, metadata={"help": "TCP connect timeout in seconds (openai)."})
    max_retries: int = field(
        default=4, metadata={"help": "Retries after a timeout, 429, 5xx, connection error or malformed body."}
    )
    backoff_s: float = field(default=1.0, metadata={"help": "First retry delay; doubles each retry (with jitter)."})
    backoff_max_s: float = field(default=30.0, metadata={"help": "Longest retry delay (also caps Retry-After)."})
    max_response_bytes: int = field(
        default=4_000_000, metadata={"help": "Refuse (count as too_large) any response body larger than this."}
    )
    probe: bool = field(
        default=True, metadata={"help": "Check once at startup that the server answers GET /models (openai)."}
    )
    batch_window_ms: float = field(
        default=5.0,
        metadata={"help": "vllm/hf: collect pending requests this long, then run them as one generate call."},
    )
    max_batch_size: int = field(default=256, metadata={"help": "vllm/hf: most requests in one generate call."})
    dtype: str = field(default="auto", metadata={"help": "vllm/hf: model dtype (auto, bfloat16, float32...)."})
    device: str | None = field(
        default=None, metadata={"help": "hf: torch device (null = cuda if available, else cpu)."}
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs per engine."})
    gpu_memory_utilization: float = field(default=0.85, metadata={"help": "vllm: fraction of GPU memory to use."})
    max_model_len: int | None = field(
        default=None, metadata={"help": "vllm: context length to allocate for (null = the model's maximum)."}
    )

    def __post_init__(self):
        for role in self.roles:
            if role not in ROLES:
                raise RecipeError(f"synth.teacher.roles: unknown role {role!r}; roles are {', '.join(ROLES)}")
        for name in ("concurrency", "max_batch_size", "max_response_bytes", "tensor_parallel_size"):
            if getattr(self, name) < 1:
                raise RecipeError(f"synth.teacher.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_retries < 0 or self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise RecipeError("synth.teacher: max_retries must be >= 0 and timeouts > 0")
        at_least("synth.teacher.max_tokens", self.max_tokens, 1)
        at_least("synth.teacher.temperature", self.temperature, 0)
        ratio("synth.teacher.top_p", self.top_p)
        ratio("synth.teacher.gpu_memory_utilization", self.gpu_memory_utilization)
        for role, over in self.roles.items():
            at_least(f"synth.teacher.roles.{role}.max_tokens", over.max_tokens, 1)
            at_least(f"synth.teacher.roles.{role}.temperature", over.temperature, 0)
            ratio(f"synth.teacher.roles.{role}.top_p", over.top_p)
        if self.kind == "openai" and not self.urls():
            raise RecipeError("synth.teacher.base_url is required for kind 'openai' (e.g. http://127.0.0.1:8000/v1)")
        if self.base_urls is not None and len(set(self.base_urls)) != len(self.base_urls):
            raise RecipeError(f"synth.teacher.base_urls lists a server twice: {self.base_urls}")
        at_least("synth.teacher.server_cooldown_s", self.server_cooldown_s, 0)
        if self.kind in ("vllm", "hf") and not self.model:
            raise RecipeError(f"synth.teacher.model (a local model path) is required for kind {self.kind!r}")

    def urls(self) -> list[str]:
        """The servers to use: `base_urls` when given, else the one `base_url`."""
        return list(self.base_urls) if self.base_urls else [self.base_url] if self.base_url else []

    def settings_for(self, role: str) -> Sampling:
        over = self.roles.get(role) or RoleSettings()
        return Sampling(
            model=over.model or self.model,
            temperature=self.temperature if over.temperature is None else over.temperature,
            top_p=self.top_p if over.top_p is None else over.top_p,
            max_tokens=self.max_tokens if over.max_tokens is None else over.max_tokens,
        )
