"""The `synth` recipe section: what FunReason-MT synthesis builds, and the answers to the report's open knobs.

    synth:
      environments: [GorillaFileSystem, TravelAPI]    # BFCL classes, or module:Class of any Environment
      num_trajectories: 100
      rounds: [2, 4]            # N: user turns per trajectory (before miss_param / miss_func extra turns)
      trace_length: [1, 8]      # M: calls sampled in phase I per round
      k_max: 3                  # phase III attempts (hints accumulate between them)
      phase2: true              # false = ablation: forward, step-by-step queries (no advanced tool)
      phase3: true              # false = ablation: one reasoning attempt, no execution check, no critic
      teacher: {kind: template}

Every ratio is a per-trajectory (or per-turn) probability drawn from the trajectory's own seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from funreason.core.errors import RecipeError
from funreason.core.sections.checks import at_least, int_range, ratio
from funreason.core.sections.teacher import TeacherConfig


@dataclass
class SynthConfig:
    environments: list[str] = field(
        default_factory=lambda: ["GorillaFileSystem"],
        metadata={"help": "Environment names (BFCL classes, or module:Class of any Environment)."},
    )
    num_trajectories: int = field(default=16, metadata={"help": "How many multi-turn trajectories to synthesize."})
    teacher: TeacherConfig = field(
        default_factory=TeacherConfig, metadata={"help": "Which LLM plays the four agents (template = offline)."}
    )
    classes_per_trajectory: list[int] = field(
        default_factory=lambda: [1, 2],
        metadata={"help": "[min, max] environments combined in one trajectory (BFCL uses 1-2 classes per entry)."},
    )
    rounds: list[int] = field(
        default_factory=lambda: [2, 4], metadata={"help": "[min, max] rounds N (user turns) per trajectory."}
    )
    trace_length: list[int] = field(
        default_factory=lambda: [1, 8], metadata={"help": "[min, max] calls M sampled in phase I per round."}
    )
    k_max: int = field(default=3, metadata={"help": "Phase III attempts per round; hints accumulate in between."})
    round_retries: int = field(
        default=2, metadata={"help": "Extra tries of a round (new target, same start state) after it is rejected."}
    )
    json_retries: int = field(
        default=2, metadata={"help": "Re-asks of an agent whose output is not valid JSON for its schema."}
    )
    phase2: bool = field(
        default=True, metadata={"help": "Advanced tool + hard query. false: forward step-by-step queries (ablation)."}
    )
    phase3: bool = field(
        default=True, metadata={"help": "Execution-checked reasoning with critic hints. false: one attempt (ablation)."}
    )
    target_policy: Literal["uniform", "in_degree", "list"] = field(
        default="in_degree",
        metadata={"help": "How phase I picks the target tool: uniform, weighted by graph in-degree, or from targets."},
    )
    targets: list[str] = field(default_factory=list, metadata={"help": "Target tools for target_policy=list."})
    num_distractors: int = field(
        default=4,
        metadata={
            "help": "Extra primitive tools shown to the reasoning agent besides the trace's own (and, with "
            "offered_tools: called, offered in the dialogue besides the called ones)."
        },
    )
    offered_tools: Literal["classes", "called"] = field(
        default="classes",
        metadata={
            "help": "Tools each dialogue offers: every tool of its classes, as BFCL does (prompts of 3-9k tokens), "
            "or only the tools it calls plus num_distractors others of its classes, as in APIGen-style data "
            "(prompts of ~1k tokens: many more examples per training minute, for small models and CPU runs)."
        },
    )
    paraphrase_ratio: float = field(
        default=0.5, metadata={"help": "Querying noise: probability of paraphrasing the request's wording."}
    )
    distractor_detail_ratio: float = field(
        default=0.3, metadata={"help": "Querying noise: probability of adding an irrelevant detail to the query."}
    )
    miss_param_ratio: float = field(
        default=0.1, metadata={"help": "Per round: the user withholds a needed value; the assistant asks for it."}
    )
    miss_func_ratio: float = field(
        default=0.1, metadata={"help": "Per trajectory: one tool is missing until a later turn adds it."}
    )
    long_context_ratio: float = field(
        default=0.1, metadata={"help": "Per trajectory: load long-context states (BFCL's long_context extensions)."}
    )
    error_response_ratio: float = field(
        default=0.05,
        metadata={
            "help": "Per round: the environment answers the step that calls the target with a transient error; "
            "the assistant retries (flag error_tool_response)."
        },
    )
    graph_edges: list[str] = field(
        default_factory=list,
        metadata={"help": "Extra prerequisite edges 'A->B' (B needs A); '!A->B' removes a found edge."},
    )
    graph_cache_dir: str | None = field(
        default=None, metadata={"help": "Where API graphs are cached as JSON (default: <run_dir>/synth/graphs)."}
    )
    contamination_ngram: int = field(
        default=8, metadata={"help": "n of the word n-grams compared with BFCL test questions."}
    )
    workers: int = field(
        default=1,
        metadata={
            "help": "Processes synthesizing at once on this machine, teacher.concurrency split among them. One "
            "Python process tops out near 100 trajectories/s (tool execution, prompts, HTTP); raise this when a fast "
            "teacher server leaves it CPU-bound. template and openai teachers only (hf/vllm load one model).",
        },
    )

    def __post_init__(self):
        if self.workers < 1:
            raise RecipeError(f"synth.workers must be >= 1, got {self.workers}")
        at_least("synth.num_trajectories", self.num_trajectories, 1)
        at_least("synth.k_max", self.k_max, 1)
        for name in ("round_retries", "json_retries", "num_distractors"):
            at_least(f"synth.{name}", getattr(self, name), 0)
        at_least("synth.contamination_ngram", self.contamination_ngram, 1)
        int_range("synth.classes_per_trajectory", self.classes_per_trajectory, low=1)
        int_range("synth.rounds", self.rounds, low=1)
        int_range("synth.trace_length", self.trace_length, low=1)
        for name in (
            "paraphrase_ratio",
            "distractor_detail_ratio",
            "miss_param_ratio",
            "miss_func_ratio",
            "long_context_ratio",
            "error_response_ratio",
        ):
            ratio(f"synth.{name}", getattr(self, name))
        if self.workers > 1 and self.teacher.kind in ("hf", "vllm"):
            raise RecipeError(
                f"synth.workers: {self.workers} workers would each load the {self.teacher.kind} teacher's model; "
                "use workers: 1 (the in-process engine batches every trajectory's requests already)"
            )
