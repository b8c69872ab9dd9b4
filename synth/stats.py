"""Run statistics for synthesis: acceptance per phase, attempts histogram, rejection reasons, sizes, tool coverage.

    from synth.stats import SynthStats
    stats = SynthStats()
    for outcome in outcomes:                 # synth.assembly.TrajectoryOutcome
        stats.add(outcome)
    data = stats.to_dict(contamination=report)       # what stats.json holds
    text = stats.to_markdown(contamination=report)   # what stats.md holds

Tokens are counted with `count_tokens(text)` (a tokenizer's `len(tok.encode(...))` when the caller has one;
whitespace words otherwise, labelled as such in the output).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


def _words(text: str) -> int:
    return len(text.split())


@dataclass
class SynthStats:
    count_tokens: Callable[[str], int] | None = None
    trajectories: int = 0
    accepted: int = 0
    counters: Counter = field(default_factory=Counter)
    attempts: Counter = field(default_factory=Counter)
    rejections: Counter = field(default_factory=Counter)
    turn_kinds: Counter = field(default_factory=Counter)
    tools: Counter = field(default_factory=Counter)
    environments: Counter = field(default_factory=Counter)
    flags: Counter = field(default_factory=Counter)
    turns: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    tools_offered: set = field(default_factory=set)

    def add(self, outcome) -> None:
        self.trajectories += 1
        for key, value in outcome.counters.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.counters[key] += value
        self.attempts.update(outcome.counters.get("phase3_attempts", []))
        self.rejections.update(f"{phase}:{reason}" for phase, reason in outcome.rejections)
        record = outcome.record
        if record is None:
            return
        self.accepted += 1
        meta = record["metadata"]
        self.environments[meta["environment"]] += 1
        self.flags.update(k for k, v in meta.get("flags", {}).items() if v)
        self.flags["long_context"] += bool(meta.get("long_context"))
        self.turns.append(len(meta["turns"]))
        self.turn_kinds.update(t["kind"] for t in meta["turns"])
        gt = [c for t in meta["turns"] for c in t["ground_truth"]]
        self.calls.append(len(gt))
        self.tools.update(c.split("(", 1)[0] for c in gt)
        self.tools_offered.update(d["name"] for d in record["tools"])
        count = self.count_tokens or _words
        text = " ".join((m.get("content") or "") + " " + (m.get("reasoning_content") or "") for m in record["messages"])
        self.tokens.append(count(text))

    @staticmethod
    def _summary(values: list[int]) -> dict:
        if not values:
            return {"mean": 0.0, "min": 0, "max": 0, "total": 0}
        return {"mean": sum(values) / len(values), "min": min(values), "max": max(values), "total": sum(values)}

    def to_dict(self, contamination: dict | None = None) -> dict:
        c = self.counters
        tried = c["rounds_tried"]

        def rate(n: int, d: int) -> float:
            return n / d if d else 0.0

        return {
            "trajectories": self.trajectories,
            "accepted": self.accepted,
            "acceptance": rate(self.accepted, self.trajectories),
            "rounds": {
                "tried": tried,
                "phase1_ok": c["phase1_ok"],
                "phase2_ok": c["phase2_ok"],
                "phase3_ok": c["phase3_ok"],
                "accepted": c["rounds_ok"],
                "phase1_acceptance": rate(c["phase1_ok"], tried),
                "phase2_acceptance": rate(c["phase2_ok"], c["phase1_ok"]),
                "phase3_acceptance": rate(c["phase3_ok"], c["phase2_ok"]),
            },
            "phase3_attempts_histogram": {str(k): v for k, v in sorted(self.attempts.items())},
            "rejection_reasons": dict(self.rejections.most_common()),
            "turns": self._summary(self.turns),
            "turn_kinds": dict(self.turn_kinds),
            "calls": self._summary(self.calls),
            "tokens": {**self._summary(self.tokens), "unit": "tokenizer" if self.count_tokens else "words"},
            "teacher_requests": c["teacher_requests"],
            "teacher_retries": {
                k.split(":", 1)[1]: n for k, n in sorted(c.items()) if k.startswith("teacher_retried:")
            },
            "error_injected": c["error_injected"],
            "flags": dict(self.flags),
            "environments": dict(self.environments),
            "tool_coverage": {
                "used": len(self.tools),
                "offered": len(self.tools_offered),
                "fraction": rate(len(self.tools), len(self.tools_offered)),
                "never_used": sorted(self.tools_offered - set(self.tools)),
                "counts": dict(self.tools.most_common()),
            },
            "contamination": contamination,
        }

    def to_markdown(self, contamination: dict | None = None) -> str:
        d = self.to_dict(contamination)
        r = d["rounds"]
        lines = [
            "# Synthesis statistics",
            "",
            f"- trajectories: {d['accepted']} accepted of {d['trajectories']} ({d['acceptance']:.1%})",
            f"- rounds tried: {r['tried']}; phase I {r['phase1_acceptance']:.1%}, phase II "
            f"{r['phase2_acceptance']:.1%}, phase III {r['phase3_acceptance']:.1%}",
            f"- turns per trajectory: mean {d['turns']['mean']:.2f} (min {d['turns']['min']}, max {d['turns']['max']})",
            f"- calls per trajectory: mean {d['calls']['mean']:.2f}, total {d['calls']['total']}",
            f"- {d['tokens']['unit']} per trajectory: mean {d['tokens']['mean']:.0f}, total {d['tokens']['total']}",
            f"- tool coverage: {d['tool_coverage']['used']}/{d['tool_coverage']['offered']} tools used",
            f"- turn kinds: {d['turn_kinds']}",
            f"- flags: {d['flags']}",
            "",
            "## Phase III attempts",
            "",
            "| attempts | rounds |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in d["phase3_attempts_histogram"].items()],
            "",
            "## Rejection reasons",
            "",
            "| reason | count |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in d["rejection_reasons"].items()],
        ]
        if contamination is not None:
            verdict = "clean" if contamination.get("clean") else "NOT clean"
            lines += [
                "",
                "## Contamination",
                "",
                f"{contamination.get('n')}-gram overlap with BFCL test questions: "
                f"{contamination.get('overlapping_queries')} of {contamination.get('queries')} queries ({verdict}).",
            ]
        return "\n".join(lines) + "\n"
