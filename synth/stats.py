"""Run statistics for synthesis: acceptance per phase, attempts histogram, rejection reasons, sizes, tool coverage.

    from funreason.synth.stats import SynthStats
    stats = SynthStats()
    for outcome in outcomes:                 # synth.assembly.TrajectoryOutcome
        stats.add(outcome)
    data = stats.to_dict(contamination=report)       # what stats.json holds
    text = stats.to_markdown(contamination=report)   # what stats.md holds

Tokens are counted with `count_tokens(text)` (the recipe model's tokenizer, `tokenizer_counter(model_dir)`, when
the directory has one; whitespace words otherwise, labelled as such in the output). Causality is measured on every
accepted record (`synth.causality.premature_calls`: calls emitted before the tool result that shows a value they
use; 0 is the contract), and so is whether each call was asked for (`synth.requested`: state-changing and
read-only calls no request asked for, decided by replay in fresh backends); the critic's prompt size is reported
per request.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from funreason.core.modelfiles import TOKENIZER_FILES
from funreason.envs import bfcl
from funreason.synth.causality import premature_calls
from funreason.synth.requested import RequestedCounts


def tokenizer_counter(model_dir: str | Path | None) -> Callable[[str], int] | None:
    """`len(tokenizer.encode(text))` with the tokenizer saved in `model_dir` (local files only), or None when there
    is no such directory or tokenizer (a template run's placeholder model)."""
    if not model_dir or not Path(model_dir).is_dir():
        return None

    if not any((Path(model_dir) / name).is_file() for name in TOKENIZER_FILES):
        return None
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


@functools.cache
def bfcl_ground_truth_tools() -> dict[str, dict]:
    """{tool: {"calls": n, "entries": share of entries}} over the ground truth of BFCL's multi-turn categories (the
    installed bfcl_eval data): the distribution synthesized data is measured against. {} without bfcl_eval."""
    try:
        truth = {c: bfcl.load_ground_truth(c) for c in bfcl.MULTI_TURN_CATEGORIES}
    except Exception:  # no bfcl_eval installed: a user's own environments only
        return {}
    calls: Counter = Counter()
    entries: Counter = Counter()
    total = 0
    for per_entry in truth.values():
        for turns in per_entry.values():
            total += 1
            names = [call.split("(", 1)[0].strip() for turn in turns for call in turn]
            calls.update(names)
            entries.update(set(names))
    return {t: {"calls": n, "entries": entries[t] / total} for t, n in calls.most_common()}


def _doc_sentence(doc: dict) -> str:
    """The first sentence of a tool's description (after BFCL's class blurb), lower-cased: what a query restating
    the docs would contain."""
    text = (doc.get("description") or "").split("Tool description:")[-1].strip()
    return text.split(". ")[0].strip().rstrip(".").lower()


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
    quality: Counter = field(default_factory=Counter)
    causality: Counter = field(default_factory=Counter)
    critic_prompt_chars: list[int] = field(default_factory=list)
    requested: RequestedCounts = field(default_factory=RequestedCounts)

    def add(self, outcome) -> None:
        self.trajectories += 1
        for key, value in outcome.counters.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.counters[key] += value
        self.attempts.update(outcome.counters.get("phase3_attempts", []))
        self.critic_prompt_chars += outcome.counters.get("critic_prompt_chars", [])
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
        self._quality(record)
        self._causality(record)
        self.requested.add(record)
        count = self.count_tokens or _words
        text = " ".join((m.get("content") or "") + " " + (m.get("reasoning_content") or "") for m in record["messages"])
        self.tokens.append(count(text))

    def _quality(self, record: dict) -> None:
        """What an engineer reading the data checks: calls whose tool's doc sentence the user text restates
        verbatim, turns that repeat an identical call, rounds whose phase-I target made it into the answer."""
        q = self.quality
        user_text = " ".join(m.get("content") or "" for m in record["messages"] if m["role"] == "user").lower()
        sentences = {d["name"]: _doc_sentence(d) for d in record["tools"]}
        for turn in record["metadata"]["turns"]:
            gt = turn["ground_truth"]
            if not gt:
                continue
            names = [c.split("(", 1)[0] for c in gt]
            q["turns"] += 1
            q["turns_repeating_a_call"] += len(set(gt)) < len(gt)
            q["targets_reached"] += turn.get("target") in names
            for name in names:
                q["calls"] += 1
                sentence = sentences.get(name, "")
                q["calls_restating_docs"] += len(sentence.split()) >= 3 and sentence in user_text

    def _causality(self, record: dict) -> None:
        c = self.causality
        bad = premature_calls(record)
        c["premature_calls"] += len(bad)
        c["trajectories_with_premature_calls"] += bool(bad)
        steps = [m for m in record["messages"] if m.get("tool_calls")]
        c["steps"] += len(steps)
        c["multi_call_steps"] += sum(len(m["tool_calls"]) > 1 for m in steps)
        c["error_turns"] += sum(bool(t.get("error_tool_response")) for t in record["metadata"]["turns"])

    def bfcl_coverage(self) -> dict | None:
        """Coverage of the tools BFCL's multi-turn ground truth uses, among this run's offered tools: each one's
        share of BFCL entries next to its calls here; `missing` lists those no accepted call uses."""
        truth = bfcl_ground_truth_tools()
        relevant = {t: v for t, v in truth.items() if t in self.tools_offered}
        if not relevant:
            return None
        missing = sorted(t for t in relevant if not self.tools[t])
        return {
            "tools": len(relevant),
            "covered": len(relevant) - len(missing),
            "missing": missing,
            "distribution": {
                t: {"bfcl_entries": round(v["entries"], 4), "bfcl_calls": v["calls"], "calls": self.tools[t]}
                for t, v in relevant.items()
            },
        }

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
            "teacher_servers": {  # requests answered per server URL (openai teacher)
                k.split(":", 1)[1]: n for k, n in sorted(c.items()) if k.startswith("teacher_server:")
            },
            "error_injected": c["error_injected"],
            "calls_stopped_by_timeout": c["calls_stopped_by_timeout"],
            # tools set aside for timing out (execution.set_aside_after_timeouts): processes that set each aside
            "tools_set_aside": {
                k.split(":", 1)[1]: n for k, n in sorted(c.items()) if k.startswith("tools_set_aside:")
            },
            "flags": dict(self.flags),
            "environments": dict(self.environments),
            "tool_coverage": {
                "used": len(self.tools),
                "offered": len(self.tools_offered),
                "fraction": rate(len(self.tools), len(self.tools_offered)),
                "never_used": sorted(self.tools_offered - set(self.tools)),
                "counts": dict(self.tools.most_common()),
            },
            "bfcl_ground_truth_coverage": self.bfcl_coverage(),
            "quality": {
                "calls_restating_docs": rate(self.quality["calls_restating_docs"], self.quality["calls"]),
                "turns_repeating_a_call": rate(self.quality["turns_repeating_a_call"], self.quality["turns"]),
                "targets_reached": rate(self.quality["targets_reached"], self.quality["turns"]),
            },
            "causality": {
                "calls_emitted_before_their_source_result": self.causality["premature_calls"],
                "trajectories_with_such_calls": self.causality["trajectories_with_premature_calls"],
                "assistant_steps_with_calls": self.causality["steps"],
                "multi_call_steps": self.causality["multi_call_steps"],
                "error_recovery_turns": self.causality["error_turns"],
            },
            "requested": self.requested.to_dict(),
            "critic_prompt_chars": {
                **self._summary(self.critic_prompt_chars),
                "requests": len(self.critic_prompt_chars),
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
            *_coverage_lines(d),
            *_set_aside_lines(d),
            f"- calls restating a tool's doc sentence: {d['quality']['calls_restating_docs']:.1%}; turns repeating "
            f"an identical call: {d['quality']['turns_repeating_a_call']:.1%}; phase-I targets reached: "
            f"{d['quality']['targets_reached']:.1%}",
            f"- calls emitted before the tool result that shows a value they use: "
            f"{d['causality']['calls_emitted_before_their_source_result']}; assistant steps with calls: "
            f"{d['causality']['assistant_steps_with_calls']} ({d['causality']['multi_call_steps']} with parallel calls)",
            _requested_line(d),
            f"- critic prompts: {d['critic_prompt_chars']['requests']}, mean {d['critic_prompt_chars']['mean']:.0f} "
            f"chars, max {d['critic_prompt_chars']['max']}",
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


def _set_aside_lines(d: dict) -> list[str]:
    """Tools set aside for timing out (envs.dispatch): whatever the run made, it made without them."""
    if not d["tools_set_aside"]:
        return []
    tools = ", ".join(d["tools_set_aside"])
    return [
        f"- **set aside** for timing out: {tools} ({d['calls_stopped_by_timeout']} calls stopped by the time limit)"
    ]


def _requested_line(d: dict) -> str:
    q = d["requested"]
    return (
        f"- calls not asked for (synth/requested.py): state-changing {q['state_changing_not_asked']} of "
        f"{q['state_changing_calls']} ({q['state_changing_not_asked_share']:.1%}), read-only "
        f"{q['read_only_not_asked']} of {q['read_only_calls']} ({q['read_only_not_asked_share']:.1%}); accepted "
        f"trajectories {d['accepted']} of {d['trajectories']} ({d['acceptance']:.1%})"
    )


def _coverage_lines(d: dict) -> list[str]:
    """`never_used` tools are a problem to look at, most of all those BFCL's ground truth uses."""
    lines = []
    never = d["tool_coverage"]["never_used"]
    if never:
        lines.append(f"- **never used** ({len(never)}): {', '.join(never)}")
    bfcl = d.get("bfcl_ground_truth_coverage")
    if bfcl:
        missing = f"; **missing**: {', '.join(bfcl['missing'])}" if bfcl["missing"] else ""
        lines.append(f"- BFCL multi-turn ground-truth tools used: {bfcl['covered']}/{bfcl['tools']}{missing}")
    return lines
