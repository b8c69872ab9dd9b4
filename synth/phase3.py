"""Phase III (FunReason-MT §4.3): the reasoning agent works a round step by step; the critic loop checks the whole
round against the phase-I chain and hints until it passes or K_max attempts are spent.

    from funreason.synth.phase3 import CriticLoop, ReasoningAgent
    loop = CriticLoop(agents, ReasoningAgent(agents, tool_docs), k_max=3)
    attempt, tries = await loop.run(instances, gt_instances, gt_results, context, first_hint, injection)
    loop.rejections  # [("phase3", "reasoning:..." | "critic:..."), ...]: why attempts failed
    attempt.steps    # [AgentStep(think, calls, results, injected)]: one assistant message + its tool results each

The reasoning agent answers one *step* at a time (`{"think", "calls"}`); the step runs through the shared
multi-turn step (`chat.step.take_step`, calls in Qwen3's native format, the dispatcher as executor) on a copy of
the round's start state, and the agent sees the results before it writes the next step. So a call that needs a
token or an ID only a result shows comes in a later step, after that result, as the model will have to do it.
`calls: []` ends the round; so does the whole round passing validation (`envs.verify.compare_turn`: the state and
every phase-I result reproduced; extra read-only calls pass, as in BFCL).

Prompt⁽¹⁾ = Des(T_adv): the first hint is the advanced tool's description from phase II; each failed attempt adds
the critic's hint. The critic sees the attempt's steps with their (shortened) results and a bounded state diff
(`bounded_diff`: only the differing fields, each value cut to a few hundred characters), never whole states.

Error recovery (the data card's erroneous environment responses): an `ErrorInjection` answers the first step that
calls the round's target with a transient failure in the environment's own error shape (`{"error": ...}`), without
running it; the agent must retry (or find another way), and validation checks the whole round as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from funreason.chat.calls import ToolCall
from funreason.chat.formats import tool_format
from funreason.chat.step import take_step
from funreason.core.sections.chat import ChatOptions
from funreason.envs.base import copy_state
from funreason.envs.dispatch import Dispatcher, format_result
from funreason.envs.verify import compare_states, compare_turn

NATIVE = ChatOptions(tool_format="hermes")
TRANSIENT_ERRORS = [
    "Request timed out: the service did not answer in time. Please try again.",
    "Service temporarily unavailable (503). Please retry shortly.",
    "Temporary failure: too many requests right now. Please retry in a moment.",
    "Connection reset while processing the request; nothing was changed. Please try again.",
]
HIDDEN_FROM_REASONING = ("ground_truth",)
SHOWN_CHARS = 300  # of a result or a state value, in the critic's prompt


def shorten(value: Any, limit: int = SHOWN_CHARS) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bounded_diff(model_instances: dict, gt_instances: dict, max_fields: int = 8) -> dict:
    """{class.field: {"attempt": ..., "expected": ...}} over differing public fields; a dict field shows only its
    differing keys; every value shortened: what the critic needs, not the whole state."""
    out: dict[str, dict] = {}
    for name, gt in gt_instances.items():
        differences = compare_states(model_instances[name], gt) if name in model_instances else {}
        for attr, diff in differences.items():
            model, truth = diff["model"], diff["ground_truth"]
            if isinstance(model, dict) and isinstance(truth, dict):
                keys = [k for k in {**truth, **model} if model.get(k) != truth.get(k)][:max_fields]
                model, truth = {k: model.get(k) for k in keys}, {k: truth.get(k) for k in keys}
            out[f"{name}.{attr}"] = {"attempt": shorten(model), "expected": shorten(truth)}
            if len(out) >= max_fields:
                return out
    return out


@dataclass
class AgentStep:
    """One assistant message of the round: its reasoning, its calls and what came back for each."""

    think: str
    calls: list[ToolCall]
    results: list[str]
    injected: bool = False  # the results are an injected transient error (the calls did not run)

    def shown(self) -> dict:
        calls = [{"name": c.name, "arguments": c.arguments} for c in self.calls]
        return {"calls": calls, "results": list(self.results)}


@dataclass
class Attempt:
    steps: list[AgentStep]
    instances: dict  # the state after the attempt's calls

    @property
    def results(self) -> list[str]:
        return [r for s in self.steps for r in s.results]


@dataclass
class ErrorInjection:
    """Answers the first step calling `tool` with `message` (a transient environment error) instead of running it."""

    tool: str
    message: str
    fired: bool = field(default=False)

    def wrap(self, execute: Callable[[list[ToolCall]], list[str]]) -> Callable[[list[ToolCall]], list[str]]:
        self.fired = False

        def run(calls: list[ToolCall]) -> list[str]:
            if not self.fired and any(c.name == self.tool for c in calls):
                self.fired = True
                return [format_result({"error": self.message})] * len(calls)
            return execute(calls)

        return run


class ReasoningAgent:
    """A_R: one teacher request per step; each step's calls run before the next request (see the module doc)."""

    def __init__(self, agents, tools: list[dict], max_steps: int = 10):
        self.agents, self.tools, self.max_steps = agents, tools, max_steps

    async def attempt(
        self, instances: dict, context: dict, done: Callable[[Attempt], bool], injection: ErrorInjection | None
    ) -> tuple[Attempt | None, str | None]:
        work = copy_state(instances)
        execute = Dispatcher(work).execute_all
        execute = injection.wrap(execute) if injection else execute
        attempt = Attempt([], work)
        # What the agent decides from: the request, the conversation, the hints, its own steps; never the chain it
        # is checked against (the critic alone is shown that), whatever the teacher (invariant 6 of docs/design.md).
        shown = {k: v for k, v in context.items() if k not in HIDDEN_FROM_REASONING}
        for _ in range(self.max_steps):
            reply, why = await self.agents.reasoning({**shown, "steps": [s.shown() for s in attempt.steps]})
            if reply is None:
                return None, why
            if not reply["calls"]:
                break
            calls = [ToolCall(c["name"], dict(c["arguments"])) for c in reply["calls"]]
            fired = injection is not None and injection.fired
            step = take_step(tool_format(NATIVE).render_calls(calls), NATIVE, self.tools, execute)
            if step.ends_turn:
                return None, f"step:{step.verdict}"
            injected = injection is not None and injection.fired and not fired
            attempt.steps.append(AgentStep(reply["think"], step.calls, step.results, injected))
            if done(attempt):
                break
        return (attempt, None) if attempt.steps else (None, "no_calls")


class CriticLoop:
    """Attempts until one passes the phase-III check; A_C turns each failure into the next hint (K_max attempts)."""

    def __init__(self, agents, reasoner: ReasoningAgent, k_max: int, validate: bool = True):
        self.agents, self.reasoner, self.k_max, self.validate = agents, reasoner, k_max, validate
        self.critic_prompt_chars: list[int] = []
        self.rejections: list[tuple[str, str]] = []  # why attempts failed, in order, for the trajectory's record

    async def run(
        self, instances, gt_instances, gt_results, context, first_hint, injection
    ) -> tuple[Attempt | None, int]:
        """(the attempt that passed, or with validation off the one made; None when none did, attempts made)."""
        hints = [first_hint] if first_hint else []
        tries = 0

        def verdict(a: Attempt):
            return compare_turn(a.instances, gt_instances, a.results, gt_results)

        def complete(a: Attempt) -> bool:
            return self.validate and verdict(a).ok

        for _ in range(self.k_max if self.validate else 1):
            tries += 1
            attempt, why = await self.reasoner.attempt(
                instances, {**context, "hints": list(hints)}, complete, injection
            )
            if attempt is None:
                self.rejections.append(("phase3", f"reasoning:{why}"))
                if why and why.startswith("teacher:"):
                    break
                continue
            check = verdict(attempt) if self.validate else None
            if check is None or check.ok:
                return attempt, tries
            hint, why = await self.critique(context, attempt, check, gt_instances)
            if hint is None:
                self.rejections.append(("phase3", f"critic:{why}"))
                break
            hints.append(hint)
        return None, tries

    async def critique(self, context, attempt: Attempt, check, gt_instances) -> tuple[str | None, str | None]:
        verdict = {"error_type": check.error_type, "error_message": check.error_message}
        if check.error_type.endswith("state_mismatch"):
            verdict["state_diff"] = bounded_diff(attempt.instances, gt_instances)
        else:
            verdict["missing_results"] = [shorten(r) for r in check.details.get("missing_items", [])][:8]
        payload = {
            "query": context["query"],
            "attempt": [{**s.shown(), "results": [shorten(r) for r in s.results]} for s in attempt.steps],
            "verdict": verdict,
            "ground_truth": context["ground_truth"],
            "ground_truth_strings": [ToolCall(c["name"], c["arguments"]).to_python() for c in context["ground_truth"]],
        }
        reply, why = await self.agents.critic(payload)
        self.critic_prompt_chars.append(self.agents.last_prompt_chars)
        return (reply["hint"], None) if reply else (None, why)
