"""The `eval` and `report` recipe sections. Owned by eval/."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalSection:
    categories: list[str] = field(
        default_factory=lambda: ["base", "miss_func", "miss_param", "long_context"],
        metadata={"help": "BFCL multi-turn categories to run."},
    )
    limit: int | None = field(default=None, metadata={"help": "Keep the first N entries of each category."})


@dataclass
class ReportSection:
    title: str = field(default="FunReason-MT report", metadata={"help": "Heading of report.md."})
