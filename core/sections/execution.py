"""The `execution:` recipe section: limits on every tool call, enforced by `envs.dispatch.Dispatcher` wherever calls
run (evaluation, scoring, GRPO rewards and rollouts, synthesis). A call over a limit is an execution error result
for that call (`"Error during execution: ..."`), counted, and the stage goes on."""

from __future__ import annotations

from dataclasses import dataclass, field

from funreason.core.sections.checks import at_least


@dataclass
class ExecutionLimits:
    call_timeout_s: float = field(
        default=5.0,
        metadata={
            "help": "Wall-clock limit of one tool call, in seconds (0 = none). A SIGALRM timer in the main thread; "
            "calls made from other threads run without it (the size caps below still apply)."
        },
    )
    max_arg_chars: int = field(
        default=100_000,
        metadata={
            "help": "Largest tool call accepted: characters of a call string, or of its arguments' values for an "
            "already parsed call (0 = no cap)."
        },
    )
    max_precision: int = field(
        default=10_000,
        metadata={
            "help": "Largest `precision` argument of a call (BFCL MathAPI's logarithm and square_root set mpmath / "
            "decimal precision from it: square_root at a million digits runs 16 s in one C call, past any timer; 0 = no cap)."
        },
    )

    set_aside_after_timeouts: int = field(
        default=3,
        metadata={
            "help": "Synthesis only: a tool whose calls are stopped by call_timeout_s this many times in a row is set "
            "aside for the rest of the run (left out of the API graph and the sampler, later calls to it fail at "
            "once), named in a warning line and counted in stats.json; 0 = never. Evaluation, scoring and RL "
            "always call every tool."
        },
    )

    def __post_init__(self) -> None:
        at_least("execution.call_timeout_s", self.call_timeout_s, 0)
        at_least("execution.max_arg_chars", self.max_arg_chars, 0)
        at_least("execution.max_precision", self.max_precision, 0)
        at_least("execution.set_aside_after_timeouts", self.set_aside_after_timeouts, 0)
