"""The `eval` and `report` recipe sections. Owned by eval/.

eval:
  categories: [base, miss_func]      # BFCL multi-turn categories (ignored when question_file is set)
  backend: vllm                      # hf | vllm | openai
  models: [base, sft, grpo]          # which checkpoints of the run to evaluate (missing ones are skipped)
  max_new_tokens: 4096
  # backend: openai                  # any OpenAI-compatible server(s):
  # base_urls: [http://node1:8000/v1, http://node2:8000/v1]   # each entry sticks to one (docs/serving.md)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from funreason.core.errors import RecipeError
from funreason.core.sections.checks import at_least, ratio


@dataclass
class EvalSection:
    moved_keys = {"hermes_holdout": "chat.hermes_holdout"}  # SFT and RL render the holdout turn too (chat/holdout.py)

    categories: list[str] = field(
        default_factory=lambda: ["base", "miss_func", "miss_param", "long_context"],
        metadata={
            "help": "BFCL categories to run: multi-turn (base, miss_func, miss_param, long_context), single-turn "
            "(simple_python, live_multiple, irrelevance, ...), agentic (memory_kv, memory_vector, memory_rec_sum; "
            "web_search_base, web_search_no_snippet with web_search_corpus), format_sensitivity (non-scoring; 200 "
            "questions x 26 system-prompt configs; pythonic tool format only, as BFCL runs it for prompting models)."
        },
    )
    limit: int | None = field(default=None, metadata={"help": "Keep the first N entries of each category."})
    ids: list[str] | None = field(
        default=None, metadata={"help": "Only these entry ids (e.g. multi_turn_base_0); applied before `limit`."}
    )
    question_file: str | None = field(
        default=None,
        metadata={
            "help": "A BFCL-format multi-turn question JSONL to run instead of the installed BFCL data "
            "(ids like multi_turn_<category>_<n>)."
        },
    )
    answer_file: str | None = field(
        default=None, metadata={"help": "The possible-answer JSONL that goes with question_file (for scoring)."}
    )
    models: list[str] = field(
        default_factory=lambda: ["base", "sft", "grpo"],
        metadata={
            "help": "What `funreason run` evaluates: `base` (the recipe's model), `sft` (<run_dir>/sft/final), "
            "`grpo` (<run_dir>/grpo/final); checkpoints that do not exist are skipped."
        },
    )
    backend: Literal["hf", "vllm", "openai"] = field(
        default="hf",
        metadata={
            "help": "hf: batched transformers generate; vllm: in-process vLLM with prefix caching; "
            "openai: any OpenAI-compatible server through /v1/completions with our rendered prompt text."
        },
    )
    batch_size: int = field(
        default=8,
        metadata={"help": "hf/vllm: entries in flight; each tick sends all their pending prompts as one batch."},
    )
    micro_batch_size: int = field(
        default=4, metadata={"help": "hf: prompts per generate() call inside a tick (bounds memory)."}
    )
    concurrency: int = field(default=32, metadata={"help": "openai: entries in flight = concurrent requests per tick."})
    max_new_tokens: int = field(
        default=4096, metadata={"help": "Cap on generated tokens per step (BFCL caps at 4096)."}
    )
    max_context: int | None = field(
        default=None,
        metadata={
            "help": "Context limit in tokens (prompt + generation); default: the model's max_position_embeddings. "
            "A prompt that does not fit makes its entry an inference_error; the run goes on."
        },
    )
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy (BFCL's 0.001 is not deterministic)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling (only used when temperature > 0)."})
    seed: int | None = field(default=None, metadata={"help": "Sampling seed; default: the recipe's seed."})
    dtype: str = field(default="auto", metadata={"help": "hf/vllm weights dtype: auto, bfloat16, float16, float32."})
    base_url: str = field(
        default="http://localhost:8000/v1", metadata={"help": "openai: the server's base URL (ending in /v1)."}
    )
    base_urls: list[str] | None = field(
        default=None,
        metadata={
            "help": "openai: several servers of the same model (overrides base_url); each entry's steps go to one "
            "of them by a stable hash of its id, a dead one's entries go on elsewhere (docs/serving.md)."
        },
    )
    server_cooldown_s: float = field(
        default=30.0, metadata={"help": "openai: how long a dead or failing server is left out before a probe."}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY", metadata={"help": "openai: environment variable holding the API key (optional)."}
    )
    served_model: str | None = field(
        default=None, metadata={"help": "openai: model name to request; default: the first one /v1/models lists."}
    )
    request_timeout: float = field(default=600.0, metadata={"help": "openai: seconds per request."})
    max_retries: int = field(
        default=5, metadata={"help": "openai: retries with exponential backoff on 429, 5xx and connection errors."}
    )
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vllm: fraction of GPU memory to use."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs per model."})
    web_search_corpus: str | None = field(
        default=None,
        metadata={
            "help": "Web search categories (web_search_base, web_search_no_snippet) run only against this frozen "
            "corpus, a JSONL of pages {url, title, snippet, content} (envs/web_corpus.py), never the live web; "
            "their scores are labelled not comparable. Without it those categories are refused."
        },
    )
    state_log: bool = field(
        default=True, metadata={"help": "Log the public state of every environment after each turn (as BFCL)."}
    )

    def urls(self) -> list[str]:
        """openai: the servers to use, `base_urls` when given, else the one `base_url`."""
        return list(self.base_urls) if self.base_urls else [self.base_url]

    def __post_init__(self):
        for name in ("batch_size", "micro_batch_size", "concurrency", "max_new_tokens", "tensor_parallel_size"):
            at_least(f"eval.{name}", getattr(self, name), 1)
        at_least("eval.limit", self.limit, 1)
        at_least("eval.max_context", self.max_context, 1)
        at_least("eval.max_retries", self.max_retries, 0)
        at_least("eval.temperature", self.temperature, 0)
        at_least("eval.request_timeout", self.request_timeout, 0, strict=True)
        at_least("eval.server_cooldown_s", self.server_cooldown_s, 0)
        if self.base_urls is not None and (not self.base_urls or len(set(self.base_urls)) != len(self.base_urls)):
            raise RecipeError(f"eval.base_urls must list distinct servers, got {self.base_urls}")
        ratio("eval.top_p", self.top_p)
        ratio("eval.gpu_memory_utilization", self.gpu_memory_utilization)


@dataclass
class ReportSection:
    title: str = field(default="FunReason-MT report", metadata={"help": "Heading of report.md."})
