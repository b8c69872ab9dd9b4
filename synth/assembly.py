"""One multi-turn trajectory, end to end: phase I → II → III per round, rounds chained on one live environment.

    from funreason.synth.assembly import synthesize_trajectory
    outcome = await synthesize_trajectory(index=3, config=synth_config, seed=0, teacher=TemplateTeacher())
    outcome.record        # {"id", "messages", "tools", "metadata"} or None
    outcome.rejections    # [(phase, reason), ...]; outcome.counters: per-phase counts for synth/stats.py

Deterministic for (index, seed, config) with a deterministic teacher: every choice draws from
`random.Random(f"{seed}:{index}")`; API graphs are a pure function of the class and are memoised per process.

Decisions on the report's open questions (docs/funreason-mt.md §12):
- Phases, named as in the report: phase I `_Round.phase1` (synth.sampler.DirectedSampler), phase II
  `_Round.phase2` (tooling + querying agents), phase III `_Round.phase3` (synth.phase3: ReasoningAgent step by
  step under the CriticLoop, Prompt⁽¹⁾ = Des(T_adv)). Each round's calls become one assistant message per step
  of the reasoning agent: a call that needs a value a result shows comes after it. The reasoning agent is never
  shown the phase-I chain; the request describes every step of it (`_said_or_referred`: each value stated, or
  an earlier result referred to in words), so every call is one the user asked for (invariant 6 of docs/design.md).
- Environments (§12.2): 1-2 classes per trajectory (recipe range) drawn from `environments`, states from
  `envs.states` (never BFCL's test states); `long_context_ratio` loads BFCL's long-context extensions.
- Target (§12.4): recipe policy; `in_degree` weights tools by 1 + in-degree, favouring tools with dependencies.
- Validation (§12.8): by execution, BFCL semantics (`envs.verify.compare_turn`): the reasoning agent's calls run
  on a copy of the round's start state and must leave the same public state as the trace and reproduce every
  trace result. Extra read-only calls pass, as in BFCL.
- Failure across turns (§12.10): a round that fails (empty trace, agent rejection, K_max exhausted) is retried
  `round_retries` times from the same start state with a new target, then dropped; the trajectory keeps its other
  rounds and is rejected only when no round survives.
- Wrap-ups (§12.11): the closing agent writes a short reply after the tool results; no `<answer>` wrapper.
- BFCL categories (§12.12), all as recipe ratios:
  * miss_param: the round's query withholds one user-given value; the assistant asks for it (ground truth []);
    the next user turn supplies it and the verified calls follow.
  * miss_func: one tool is absent until round j: earlier rounds never sample it; at round j (target = that tool)
    the assistant says it cannot (ground truth []), then a user turn announces the tool and the calls follow.
    Metadata records `missing_functions` / `added_functions` per turn, as BFCL's `missed_function` does.
  * error_tool_response (the data card's erroneous environment responses): in a round drawn with
    `error_response_ratio`, the first step that calls the round's target gets a transient error in the
    environment's own shape (`{"error": "Request timed out..."}`) instead of running; the reasoning agent sees it
    and retries, and phase III validates the whole round. The call was the right one (the user asked for it);
    metadata `injected_errors` lists those tool messages, which replay expects instead of executing.
- Offered tools (the report's `subtools(trace) + distractors?`, §4.5): BFCL offers every tool of an entry's classes
  and so does `offered_tools: classes`; `offered_tools: called` offers the dialogue's called tools plus
  `num_distractors` others, as APIGen-style data (which the report mixes in) does: 3-9k-token prompts become ~1k.
- Phase ablations: `phase2: false` writes forward step-by-step queries from the trace (no advanced tool);
  `phase3: false` makes one reasoning attempt whose calls are kept unchecked (their real results are recorded).
- The final sample keeps no trace of the hint or the advanced tool: neither is in messages nor metadata.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from funreason.chat.calls import ToolCall
from funreason.chat.holdout import HOLDOUT_FC
from funreason.core.jsonl import lone_surrogate
from funreason.core.sections.synth import SynthConfig
from funreason.envs.base import copy_state
from funreason.envs.resolve import EnvSpec, resolve_env
from funreason.synth.agents import Agents
from funreason.synth.api_graph import ApiGraph, load_or_build
from funreason.synth.phase3 import TRANSIENT_ERRORS, AgentStep, Attempt, CriticLoop, ErrorInjection, ReasoningAgent
from funreason.synth.sampler import DirectedSampler, ValuePools
from funreason.synth.teachers.base import Teacher
from funreason.synth.teachers.requests import label, value_from_results
from funreason.synth.teachers.template import phrase
from funreason.synth.trajectory import Step


@dataclass
class TrajectoryOutcome:
    record: dict | None
    rejections: list[tuple[str, str]] = field(default_factory=list)
    counters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Setup:
    """What a trajectory draws before its rounds, besides the miss_func plan."""

    seed: int
    index: int
    docs: list[dict]
    initial_config: dict
    long_context: bool


@dataclass(frozen=True)
class MissFuncPlan:
    """The miss_func draw: `tool` is absent until round `round` announces it (`round` None: nothing withheld, or
    that round failed every try and so the tool was never withheld in the end)."""

    tool: str | None = None
    round: int | None = None


@dataclass
class Conversation:
    """What the rounds so far have left for the next: the environment state, the tools called, the values seen
    (for the sampler) and the dialogue as the teacher's prompts show it ({"user", "calls", "results"} a round)."""

    instances: dict
    called: set[str] = field(default_factory=set)
    pools: ValuePools = field(default_factory=ValuePools)
    history: list[dict] = field(default_factory=list)

    def add_round(self, user_text: str, calls: list[str], made: MadeRound) -> None:
        shown = [x[:300] for x in made.results]
        self.history.append({"user": user_text, "calls": calls, "results": shown})
        self.instances = made.after
        self.called |= {c.name for c in made.calls}
        for res in made.results:
            self.pools.add_output(res)


@dataclass(frozen=True)
class RoundPlan:
    """One try at a round: tools it may not use, the target it must reach (None: phase I draws one) and whether
    its query withholds a value (miss_param)."""

    exclude: frozenset[str]
    target: str | None
    miss_param: bool


@dataclass(frozen=True)
class SampledTrace:
    """Phase I's output: the directed trace, the target it reached and the ground-truth state after it."""

    trace: list[Step]
    target: str
    gt_instances: dict


@dataclass(frozen=True)
class HardQuery:
    """Phase II's output: the query, the follow-up that supplies a withheld value, the withheld parameter's name
    and the advanced tool T_adv (None when phase II is off)."""

    query: str
    supply: str | None
    withheld: str | None
    advanced_tool: dict | None

    @property
    def asked(self) -> str:
        """What the reasoning agent answers: the query, and the follow-up when a value was withheld."""
        return self.query if self.supply is None else f"{self.query}\n{self.supply}"


@dataclass(frozen=True)
class Solved:
    """Phase III's output: the attempt that passed (or, with phase III off, the one kept) and how many were made."""

    attempt: Attempt
    tries: int


@dataclass(frozen=True)
class MadeRound:
    """A finished round: its query, the reasoning agent's steps, the calls kept (injected errors left out) with
    their results, the state after them, the closing reply, and what the turn's metadata records."""

    hard: HardQuery
    steps: list[AgentStep]
    calls: list[ToolCall]
    results: list[str]
    after: dict
    reply: str
    reply_think: str
    attempts: int
    target: str
    error_injected: bool
    asked: list[str]


@dataclass(frozen=True)
class Refusal:
    """A miss_param question or a miss_func refusal: its messages, its turn's metadata (merged after the round's
    common fields), and the follow-up user turn's text and kind."""

    messages: list[dict]
    turn: dict
    follow_up: str
    kind: str


@dataclass
class Dialogue:
    """The trajectory's messages and per-turn metadata as the rounds add them, with the indices of tool messages
    that carry an injected error."""

    messages: list[dict] = field(default_factory=list)
    turns: list[dict] = field(default_factory=list)
    injected: list[int] = field(default_factory=list)


@functools.lru_cache(maxsize=64)
def _class_graph(env_key: tuple, cache_dir: str | None) -> ApiGraph:
    names, refs = env_key
    env = resolve_env(list(refs))
    return load_or_build(env, cache_dir=cache_dir)


def graph_for(env: EnvSpec, refs: list[str], config: SynthConfig) -> ApiGraph:
    """The API graph of an environment, shared by all its trajectories in this process: callers only read it (its
    distance table fills once instead of once per trajectory)."""
    return _env_graph(tuple(env.classes), tuple(refs), config.graph_cache_dir, tuple(config.graph_edges))


@functools.lru_cache(maxsize=256)
def _env_graph(classes: tuple, refs: tuple, cache_dir: str | None, edges: tuple) -> ApiGraph:
    graphs = [_class_graph(((name,), (ref,)), cache_dir) for name, ref in zip(classes, refs)]
    return ApiGraph.union(copy.deepcopy(graphs)).apply_overrides(list(edges))


def _range(rng: random.Random, bounds: list[int], name: str) -> int:
    if len(bounds) != 2 or bounds[0] > bounds[1] or bounds[0] < 0:
        raise ValueError(f"synth.{name} must be [min, max] with 0 <= min <= max, got {bounds}")
    return rng.randint(bounds[0], bounds[1])


def _choose_target(rng: random.Random, graph: ApiGraph, tools: list[str], config: SynthConfig) -> str:
    tools = [t for t in tools if t not in graph.dead] or tools  # a tool that never works cannot be reached
    if config.target_policy == "list":
        listed = [t for t in config.targets if t in tools]
        if listed:
            return rng.choice(listed)
    if config.target_policy == "in_degree":
        in_degree = Counter(b for _, b in graph.edges())  # graph.in_degree(t) for every t, from one edge scan
        return rng.choices(tools, weights=[1 + in_degree[t] for t in tools])[0]
    return rng.choice(tools)


def offered_tools(
    docs: list[dict], messages: list[dict], missing: str | None, config: SynthConfig, rng: random.Random
) -> list[dict]:
    """The tool docs a dialogue offers (synth.offered_tools): all of its classes', or the ones it calls (and the
    held-out one of a miss_func dialogue) plus `num_distractors` others, so the model still has to choose. Docs
    keep their class order. Drawn last from the trajectory's RNG, so `classes` data is unchanged by the option."""
    if config.offered_tools == "classes":
        return docs
    called = {c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
    called |= {missing} if missing else set()
    others = [d["name"] for d in docs if d["name"] not in called]
    keep = called | set(rng.sample(others, k=min(config.num_distractors, len(others))))
    return [d for d in docs if d["name"] in keep]


def _said_or_referred(trace: list[Step], docs: dict, earlier: list[str]) -> list[tuple[dict, dict]]:
    """For each step, (values the user states, {param: "this" | "before"} for values the user refers to). A value
    is referred to, never restated, when the request language's reader (synth/teachers/requests.py) finds exactly
    it in what the reasoning agent will have seen: the results of this round's earlier steps ("the ticket id from
    that"), else the conversation's results (`earlier`, as its prompt shows them: "the ticket id you found
    earlier"). Everything else is said in the request. Flags are always said."""
    out, returned = [], []
    for step in trace:
        props = ((docs.get(step.name) or {}).get("parameters") or {}).get("properties") or {}
        stated, refs = {}, {}
        for param, value in step.call.arguments.items():
            ptype = (props.get(param) or {}).get("type", "string")
            if not isinstance(value, bool) and _same(value_from_results(param, ptype, returned), value):
                refs[param] = "this"
            elif not isinstance(value, bool) and _same(value_from_results(param, ptype, earlier), value):
                refs[param] = "before"
            else:
                stated[param] = value
        out.append((stated, refs))
        returned.append(step.result)
    return out


def _same(found, value) -> bool:
    """Equal as the call would carry it (1 and 1.0 and True are not the same argument)."""
    return found is not None and json.dumps(found, sort_keys=True) == json.dumps(value, sort_keys=True)


def _withholdable(item: dict, inputs: list[dict]) -> bool:
    """A value the query can leave out and one follow-up can supply: a scalar whose parameter no other input shares
    and that no other input's value contains (the query drops exactly it, nothing else goes unsaid)."""
    value = item["value"]
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) < 2:
        return False
    others = [i for i in inputs if i is not item]
    return all(i["param"] != item["param"] and str(value) not in str(i["value"]) for i in others)


def _call_dict(call: ToolCall) -> dict:
    return {"name": call.name, "arguments": call.arguments}


def _assistant_calls(calls: list[ToolCall], think: str, content: str = "") -> dict:
    return {
        "role": "assistant",
        "content": content,
        "reasoning_content": think,
        "tool_calls": [c.to_message() for c in calls],
    }


class _Round:
    """One trajectory under construction: its environment, teacher agents and counters; `run` makes one round."""

    def __init__(self, env, refs, config, rng, teacher, graph, docs):
        self.env, self.refs, self.config, self.rng, self.graph = env, refs, config, rng, graph
        self.docs = {d["name"]: d for d in docs}
        self.agents = Agents(teacher, json_retries=config.json_retries, fixed=self.docs.values())
        self.rejections: list[tuple[str, str]] = []
        self.counters: dict[str, Any] = {
            "rounds_tried": 0,
            "phase1_ok": 0,
            "phase2_ok": 0,
            "phase3_ok": 0,
            "rounds_ok": 0,
            "phase3_attempts": [],
            "critic_prompt_chars": [],
            "error_injected": 0,
        }

    def reject(self, phase: str, reason: str) -> None:
        self.rejections.append((phase, reason))

    def phase1(self, live: Conversation, plan: RoundPlan) -> SampledTrace:
        """Directed sampling (Eq. 1-2) toward the plan's target (or a drawn one) from the conversation's state."""
        tools = [t for t in self.docs if t not in plan.exclude]
        target = plan.target or _choose_target(self.rng, self.graph, tools, self.config)
        length = max(1, _range(self.rng, self.config.trace_length, "trace_length"))
        sampler = DirectedSampler(self.graph, list(self.docs.values()), self.rng, exclude=plan.exclude)
        trace, _, gt_instances = sampler.run(live.instances, target, length, live.called, copy_state(live.pools))
        return SampledTrace(trace, target, gt_instances)

    def _steps(self, trace: list[Step], earlier: list[str]) -> list[dict]:
        """What phase II knows of each traced call: its phrase, the values the user states and those the user
        refers to (`_said_or_referred`), and how the request names each parameter. Every step is asked for: the
        request describes each call the answer makes (invariant 6 of docs/design.md), so none is made unasked."""
        said = _said_or_referred(trace, self.docs, earlier)
        return [
            {
                "name": s.name,
                "arguments": s.call.arguments,
                "result": s.result,
                "phrase": phrase(self.docs.get(s.name), s.name),
                "stated": said[i][0],
                "refs": said[i][1],
                "labels": {p: label(self.docs.get(s.name), p) for p in s.call.arguments},
            }
            for i, s in enumerate(trace)
        ]

    async def phase2(self, trace: list[Step], miss_param: bool, earlier: list[str]) -> HardQuery | None:
        """The tooling agent folds the trace into T_adv (Eq. 3); the querying agent writes the hard query (Eq. 4),
        and with a withheld value the follow-up that supplies it. None on rejection. The payloads (dicts) are what
        the teacher is sent."""
        config, rng = self.config, self.rng
        steps = self._steps(trace, earlier)
        inputs = [
            {"param": k, "value": v, "tool": s["name"], "label": s["labels"][k]}
            for s in steps
            for k, v in s["stated"].items()
        ]
        noise = {
            "paraphrase": rng.random() < config.paraphrase_ratio,
            "distractor": rng.random() < config.distractor_detail_ratio,
            "variant": rng.randrange(1000),
        }
        withhold = None
        if miss_param:
            candidates = [i for i in inputs if _withholdable(i, inputs)]
            if candidates:
                withhold = rng.choice(candidates)
        trace_payload = [{"name": s["name"], "arguments": s["arguments"], "result": s["result"]} for s in steps]
        tool, mode = None, "forward"
        if config.phase2:
            tool, why = await self.agents.tooling({"trace": trace_payload, "steps": steps, "inputs": inputs})
            if tool is None:
                return self.reject("phase2", f"tooling:{why}")
            mode = "hard"
        payload = {"mode": mode, "advanced_tool": tool, "trace": trace_payload, "steps": steps, "inputs": inputs}
        payload.update(noise=noise, withhold=withhold)
        reply, why = await self.agents.querying(payload)
        if reply is None:
            return self.reject("phase2", f"querying:{why}")
        supply = None
        if withhold:
            more, why = await self.agents.querying({**payload, "mode": "supply"})
            if more is None:
                return self.reject("phase2", f"querying:{why}")
            supply = more["query"]
        return HardQuery(reply["query"], supply, withhold["param"] if withhold else None, tool)

    async def phase3(
        self, live: Conversation, sampled: SampledTrace, hard: HardQuery, exclude: frozenset[str]
    ) -> Solved | None:
        """The reasoning agent, step by step, under the critic loop; Prompt⁽¹⁾ = Des(T_adv). Returns the attempt
        kept and how many were made, or None (rejections recorded). The agent is offered the trace's tools and
        distractors outside `exclude`; with `error_response_ratio`, the first step calling the target gets a
        transient error."""
        config, rng, trace = self.config, self.rng, sampled.trace
        trace_tools = list(dict.fromkeys(s.name for s in trace))
        others = [t for t in self.docs if t not in trace_tools and t not in exclude]
        offered = trace_tools + rng.sample(others, k=min(config.num_distractors, len(others)))
        rng.shuffle(offered)
        context = {  # the reasoning agent sees all of it but `ground_truth`, which only the critic is shown
            "conversation": live.history[-6:],
            "query": hard.asked,
            "tools": [self.docs[t] for t in offered],
            "ground_truth": [_call_dict(s.call) for s in trace],
            "phrases": {t: phrase(self.docs.get(t), t) for t in offered},
        }
        injection = None
        if rng.random() < config.error_response_ratio:
            tool = sampled.target if sampled.target in trace_tools else trace_tools[-1]
            injection = ErrorInjection(tool, rng.choice(TRANSIENT_ERRORS))
        tool = hard.advanced_tool
        first_hint = f"The request amounts to one operation: {tool['description']}" if tool else None
        reasoner = ReasoningAgent(self.agents, context["tools"], max_steps=len(trace) + 2)
        loop = CriticLoop(self.agents, reasoner, config.k_max, validate=config.phase3)
        gt_results = [s.result for s in trace]
        attempt, tries = await loop.run(
            live.instances, sampled.gt_instances, gt_results, context, first_hint, injection
        )
        self.rejections += loop.rejections
        self.counters["phase3_attempts"].append(tries)
        self.counters["critic_prompt_chars"] += loop.critic_prompt_chars
        if attempt is None:
            return self.reject("phase3", "k_max_exhausted" if config.phase3 else "unparsed")
        return Solved(attempt, tries)

    async def run(self, live: Conversation, plan: RoundPlan) -> MadeRound | None:
        """One round from the conversation (not mutated): phase I, II, III, then the closing reply. Returns the
        round or None (rejections recorded)."""
        self.counters["rounds_tried"] += 1
        sampled = self.phase1(live, plan)
        if not sampled.trace:
            return self.reject("phase1", "empty_trace")
        self.counters["phase1_ok"] += 1
        hard = await self.phase2(sampled.trace, plan.miss_param, [r for h in live.history[-6:] for r in h["results"]])
        if hard is None:
            return None
        self.counters["phase2_ok"] += 1
        solved = await self.phase3(live, sampled, hard, plan.exclude)
        if solved is None:
            return None
        self.counters["phase3_ok"] += 1
        steps = solved.attempt.steps
        kept = [(c, r) for s in steps if not s.injected for c, r in zip(s.calls, s.results)]
        injected = any(s.injected for s in steps)
        self.counters["error_injected"] += injected
        closing, why = await self.agents.closing(
            {
                "mode": "summary",
                "query": hard.asked,
                "calls": [c.to_python() for c, _ in kept],
                "results": [r for _, r in kept],
            }
        )
        if closing is None:
            return self.reject("closing", f"closing:{why}")
        self.counters["rounds_ok"] += 1
        return MadeRound(
            hard=hard,
            steps=steps,
            calls=[c for c, _ in kept],
            results=[r for _, r in kept],
            after=solved.attempt.instances,
            reply=closing["reply"],
            reply_think=closing["think"],
            attempts=solved.tries,
            target=sampled.target,
            error_injected=injected,
            asked=[s.call.to_python() for s in sampled.trace],
        )


def _round_messages(made: MadeRound, user_text: str, first: int) -> tuple[list[dict], list[int]]:
    """The user turn, one assistant message per step followed by its tool results, and the closing reply; with the
    indices (counted from `first`) of tool messages that carry an injected error."""
    messages = [{"role": "user", "content": user_text}]
    injected = []
    for step in made.steps:
        messages.append(_assistant_calls(step.calls, step.think))
        for call, result in zip(step.calls, step.results):
            if step.injected:
                injected.append(first + len(messages))
            messages.append({"role": "tool", "name": call.name, "content": result})
    messages.append({"role": "assistant", "content": made.reply, "reasoning_content": made.reply_think})
    return messages, injected


async def _refusal_turn(agents: Agents, made: MadeRound, missing: str | None) -> Refusal:
    """A miss_param round (ask for the withheld value) or a miss_func round (say the tool is missing), before its
    follow-up user turn."""
    user = {"role": "user", "content": made.hard.query}
    param = made.hard.withheld
    if param is not None:
        ask, why = await agents.closing({"mode": "ask_param", "param": param})
        reply = ask["reply"] if ask else f"Which {param} should I use?"
        question = {"role": "assistant", "content": reply, "reasoning_content": (ask or {}).get("think", "")}
        turn = {"ground_truth": [], "kind": "miss_param", "withheld": param}
        return Refusal([user, question], turn, made.hard.supply, "miss_param_followup")
    # Not told the withheld tool's name: the model being trained has never seen it at this point, so a refusal that
    # names it would teach knowledge the conversation has not shown (invariant 6 of docs/design.md).
    cannot, why = await agents.closing({"mode": "cannot", "query": made.hard.query})
    reply = cannot["reply"] if cannot else "I can't do that with the tools I have right now."
    refusal = {"role": "assistant", "content": reply, "reasoning_content": (cannot or {}).get("think", "")}
    turn = {"ground_truth": [], "kind": "miss_func", "missing_functions": [missing]}
    # BFCL's holdout turn; train renders it as eval does (chat.holdout), from metadata.missed_function
    return Refusal([user, refusal], turn, HOLDOUT_FC, "miss_func_followup")


async def _make_round(state: _Round, r: int, plan: MissFuncPlan, live: Conversation) -> MadeRound | None:
    """Round `r` with its retries (a new target each time): the round, or None when every try failed."""
    is_func_round = r == plan.round
    missing = plan.tool
    exclude = frozenset({missing} if missing and plan.round is not None and r < plan.round else ())
    miss_param = state.rng.random() < state.config.miss_param_ratio
    for retry in range(1 + state.config.round_retries):
        target = missing if is_func_round and retry == 0 else None
        made = await state.run(live, RoundPlan(exclude, target, miss_param))
        if made is not None and is_func_round and missing not in {c.name for c in made.calls}:
            state.reject("assembly", "miss_func_target_not_reached")
            made = None
        if made is not None:
            return made
    return None


async def synthesize_trajectory(index: int, config: SynthConfig, seed: int, teacher: Teacher) -> TrajectoryOutcome:
    """Build trajectory number `index` (see the module docstring); never raises for teacher or data problems."""
    rng = random.Random(f"{seed}:{index}")
    refs_all = list(config.environments)
    k = min(len(refs_all), _range(rng, config.classes_per_trajectory, "classes_per_trajectory") or 1)
    refs = rng.sample(refs_all, k=max(1, k))
    env = resolve_env(refs)
    docs = env.docs()
    state = _Round(env, refs, config, rng, teacher, graph_for(env, refs, config), docs)
    initial_config = env.generate_config(rng)
    long_context = rng.random() < config.long_context_ratio
    live = Conversation(env.make_instances(initial_config, long_context=long_context))
    n_rounds = max(1, _range(rng, config.rounds, "rounds"))
    plan = MissFuncPlan()
    if rng.random() < config.miss_func_ratio:
        func_round = rng.randrange(n_rounds)
        plan = MissFuncPlan(tool=rng.choice([d["name"] for d in docs]), round=func_round)
    dialogue = Dialogue()
    for r in range(n_rounds):
        made = await _make_round(state, r, plan, live)
        if made is None:
            if r == plan.round:
                plan = dataclasses.replace(plan, round=None)  # the tool was never withheld in the end
            continue
        base_turn = {"phase2": config.phase2, "phase3_attempts": made.attempts, "target": made.target}
        user_text, kind = made.hard.query, "normal"
        if made.hard.withheld is not None or r == plan.round:
            refusal = await _refusal_turn(state.agents, made, plan.tool)
            dialogue.messages += refusal.messages
            dialogue.turns.append({**base_turn, **refusal.turn})
            user_text, kind = refusal.follow_up, refusal.kind
        turn = {**base_turn, "kind": kind, "ground_truth": [c.to_python() for c in made.calls]}
        turn["asked"] = made.asked
        if kind == "miss_func_followup":
            turn["added_functions"] = [plan.tool]
        if made.error_injected:
            turn["error_tool_response"] = True
        added, errors = _round_messages(made, user_text, len(dialogue.messages))
        dialogue.messages += added
        dialogue.injected += errors
        dialogue.turns.append(turn)
        live.add_round(user_text, turn["ground_truth"], made)
    setup = Setup(seed, index, docs, initial_config, long_context)
    return _outcome(state, setup, plan.tool, dialogue)


def _outcome(state: _Round, setup: Setup, missing: str | None, dialogue: Dialogue) -> TrajectoryOutcome:
    """The trajectory's record (or its rejection) from the rounds made; `setup` is what was drawn before them."""
    env, config, seed, index = state.env, state.config, setup.seed, setup.index
    messages, turns = dialogue.messages, dialogue.turns
    counters = dict(state.counters)
    counters["teacher_requests"] = state.agents.requests
    if not turns or all(not t["ground_truth"] for t in turns):
        return TrajectoryOutcome(None, [*state.rejections, ("assembly", "no_round_survived")], counters)
    if lone_surrogate(messages):  # a teacher's half-escaped emoji: no tokenizer, Arrow or UTF-8 file takes it
        return TrajectoryOutcome(None, [*state.rejections, ("assembly", "unencodable_text")], counters)
    missed = {str(i): t["added_functions"] for i, t in enumerate(turns) if t.get("added_functions")}
    flags = {  # read off the turns: miss_func only where the withheld tool was announced in the end
        "error_tool_response": any(t.get("error_tool_response") for t in turns),
        "miss_param": any(t["kind"] == "miss_param" for t in turns),
        "miss_func": bool(missed),
    }
    record = {
        "id": f"funreason_mt_{seed}_{index}",
        "messages": messages,
        "tools": offered_tools(setup.docs, messages, missing, config, state.rng),
        "metadata": {
            "environment": env.name,
            "environment_refs": state.refs,
            "involved_classes": env.classes,
            "initial_config": json.loads(json.dumps(setup.initial_config)),
            "long_context": setup.long_context,
            "turns": turns,
            "teacher": getattr(state.agents.teacher, "name", "unknown"),
            "flags": flags,
            "missed_function": missed,
            "injected_errors": dialogue.injected,
            "phase2": config.phase2,
            "phase3": config.phase3,
            "seed": seed,
            "index": index,
        },
    }
    counters["turns"] = len(turns)
    counters["calls"] = sum(len(t["ground_truth"]) for t in turns)
    return TrajectoryOutcome(record, state.rejections, counters)
