"""One multi-turn trajectory, end to end: phase I → II → III per round, rounds chained on one live environment.

    from synth.assembly import synthesize_trajectory
    outcome = await synthesize_trajectory(index=3, config=synth_config, seed=0, teacher=TemplateTeacher())
    outcome.record        # {"id", "messages", "tools", "metadata"} or None
    outcome.rejections    # [(phase, reason), ...]; outcome.counters: per-phase counts for synth/stats.py

Deterministic for (index, seed, config) with a deterministic teacher: every choice draws from
`random.Random(f"{seed}:{index}")`; API graphs are a pure function of the class and are memoised per process.

Decisions on the report's open questions (docs/funreason-mt.md §12):
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
  * error_tool_response: a call that really failed in phase I (same round start state) is issued first, its real
    error comes back, then the verified calls; replay reproduces the error too. Flagged per turn and trajectory.
- Offered tools (the report's `subtools(trace) + distractors?`, §4.5): BFCL offers every tool of an entry's classes
  and so does `offered_tools: classes`; `offered_tools: called` offers the dialogue's called tools plus
  `num_distractors` others, as APIGen-style data (which the report mixes in) does: 3-9k-token prompts become ~1k.
- Phase ablations: `phase2: false` writes forward step-by-step queries from the trace (no advanced tool);
  `phase3: false` makes one reasoning attempt whose calls are kept unchecked (their real results are recorded).
- The final sample keeps no trace of the hint or the advanced tool: neither is in messages nor metadata.
"""

from __future__ import annotations

import copy
import functools
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chat.calls import ToolCall
from chat.holdout import HOLDOUT_FC
from core.sections.synth import SynthConfig
from envs.base import copy_state, snapshot
from envs.resolve import EnvSpec, resolve_env
from envs.verify import compare_turn
from synth.agents import Agents
from synth.api_graph import ApiGraph, load_or_build
from synth.sampler import DirectedSampler, ValuePools, _leaves
from synth.teachers.base import Teacher
from synth.teachers.template import arg_phrases, phrase
from synth.trajectory import Step, is_failure, run_call


@dataclass
class TrajectoryOutcome:
    record: dict | None
    rejections: list[tuple[str, str]] = field(default_factory=list)
    counters: dict = field(default_factory=dict)


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


def _user_args(trace: list[Step]) -> list[dict]:
    """For each step, the arguments the user must have given: values not produced by an earlier step's output."""
    produced: set[str] = set()
    out = []
    for step in trace:
        out.append({k: v for k, v in step.call.arguments.items() if json.dumps(v, sort_keys=True) not in produced})
        try:
            value = json.loads(step.result)
        except json.JSONDecodeError:
            continue
        produced |= {json.dumps(leaf, sort_keys=True) for _, leaf in _leaves(value)}
    return out


def _described(trace: list[Step], graph: ApiGraph, user_args: list[dict]) -> list[bool]:
    """Which steps a hard query states as goals: not the ones that only enable or feed a later step."""
    flags = []
    for i, step in enumerate(trace):
        later = trace[i + 1 :]
        enables = any(step.name in graph.hard.get(s.name, []) + graph.soft.get(s.name, []) for s in later)
        feeds = any(len(user_args[i + 1 + j]) < len(s.call.arguments) for j, s in enumerate(later))
        flags.append(not (enables or (feeds and not user_args[i])))
    if not any(flags):
        flags[-1] = True
    return flags


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
    """The state of one trajectory under construction."""

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
            "error_injected": 0,
        }

    def reject(self, phase: str, reason: str) -> None:
        self.rejections.append((phase, reason))

    async def run(
        self, instances, called, pools, history, exclude: set[str], target: str | None, miss_param: bool
    ) -> dict | None:
        """One round from `instances` (not mutated). Returns the round's pieces or None (rejections recorded)."""
        config, rng = self.config, self.rng
        self.counters["rounds_tried"] += 1
        tools = [t for t in self.docs if t not in exclude]
        target = target or _choose_target(rng, self.graph, tools, config)
        length = max(1, _range(rng, config.trace_length, "trace_length"))
        sampler = DirectedSampler(self.graph, list(self.docs.values()), rng, exclude=exclude)
        trace, failures, gt_instances = sampler.run(instances, target, length, called, copy_state(pools))
        if not trace:
            self.reject("phase1", "empty_trace")
            return None
        self.counters["phase1_ok"] += 1

        user_args = _user_args(trace)
        described = _described(trace, self.graph, user_args)
        steps = [
            {
                "name": s.name,
                "arguments": s.call.arguments,
                "result": s.result,
                "phrase": phrase(self.docs.get(s.name), s.name),
                "user_args": user_args[i],
                "arg_phrases": arg_phrases(self.docs.get(s.name), user_args[i]),
                "described": described[i],
            }
            for i, s in enumerate(trace)
        ]
        inputs = [{"param": k, "value": v, "tool": s["name"]} for s in steps for k, v in s["user_args"].items()]
        noise = {
            "paraphrase": rng.random() < config.paraphrase_ratio,
            "distractor": rng.random() < config.distractor_detail_ratio,
            "variant": rng.randrange(1000),
        }
        withhold = None
        if miss_param:
            candidates = [i for i in inputs if isinstance(i["value"], (str, int, float)) and len(str(i["value"])) >= 2]
            if candidates:
                withhold = rng.choice(candidates)

        # --- phase II -----------------------------------------------------------------------------------------
        trace_payload = [{"name": s["name"], "arguments": s["arguments"], "result": s["result"]} for s in steps]
        if config.phase2:
            tool, why = await self.agents.tooling({"trace": trace_payload, "steps": steps, "inputs": inputs})
            if tool is None:
                self.reject("phase2", f"tooling:{why}")
                return None
            mode = "hard"
        else:
            tool, mode = None, "forward"
        query_payload = {
            "mode": mode,
            "advanced_tool": tool,
            "trace": trace_payload,
            "steps": steps,
            "inputs": inputs,
            "noise": noise,
            "withhold": withhold,
        }
        reply, why = await self.agents.querying(query_payload)
        if reply is None:
            self.reject("phase2", f"querying:{why}")
            return None
        query = reply["query"]
        supply = None
        if withhold:
            reply, why = await self.agents.querying({**query_payload, "mode": "supply"})
            if reply is None:
                self.reject("phase2", f"querying:{why}")
                return None
            supply = reply["query"]
        self.counters["phase2_ok"] += 1

        # --- phase III ----------------------------------------------------------------------------------------
        full_query = query if supply is None else f"{query}\n{supply}"
        trace_tools = list(dict.fromkeys(s.name for s in trace))
        others = [t for t in tools if t not in trace_tools]
        offered = trace_tools + rng.sample(others, k=min(config.num_distractors, len(others)))
        rng.shuffle(offered)
        gt_calls = [_call_dict(s.call) for s in trace]
        hints: list[str] = []
        attempts = 0
        accepted = None
        for _ in range(config.k_max if config.phase3 else 1):
            attempts += 1
            payload = {
                "conversation": history[-6:],
                "query": full_query,
                "tools": [self.docs[t] for t in offered],
                "hints": list(hints),
                "ground_truth": gt_calls,
                "phrases": {t: phrase(self.docs.get(t), t) for t in offered},
            }
            reply, why = await self.agents.reasoning(payload)
            if reply is None:
                self.reject("phase3", f"reasoning:{why}")
                if why and why.startswith("teacher:"):
                    break
                continue
            calls = [ToolCall(c["name"], dict(c["arguments"])) for c in reply["calls"]]
            model_instances = copy_state(instances)
            results = [run_call(model_instances, c) for c in calls]
            if not self.config.phase3:
                accepted = (reply["think"], calls, results, model_instances)
                break
            verdict = compare_turn(model_instances, gt_instances, results, [s.result for s in trace])
            if verdict.ok:
                accepted = (reply["think"], calls, results, model_instances)
                break
            critic, why = await self.agents.critic(
                {
                    "query": full_query,
                    "attempt": [_call_dict(c) for c in calls],
                    "attempt_results": results,
                    "verdict": {
                        "error_type": verdict.error_type,
                        "error_message": verdict.error_message,
                        "details": json.loads(json.dumps(verdict.details, default=str)),
                    },
                    "ground_truth": gt_calls,
                    "ground_truth_strings": [s.call.to_python() for s in trace],
                }
            )
            if critic is None:
                self.reject("phase3", f"critic:{why}")
                break
            hints.append(critic["hint"])
        self.counters["phase3_attempts"].append(attempts)
        if accepted is None:
            self.reject("phase3", "k_max_exhausted" if config.phase3 else "unparsed")
            return None
        self.counters["phase3_ok"] += 1
        think, calls, results, after = accepted

        # --- optional real error first (flagged) ----------------------------------------------------------------
        error_step = None
        if failures and rng.random() < self.config.error_response_ratio:
            error_step = self._error_prefix(instances, failures, calls, results)
            if error_step is not None:
                step, after = error_step
                error_step = step
                self.counters["error_injected"] += 1

        closing, why = await self.agents.closing(
            {"mode": "summary", "query": full_query, "calls": [c.to_python() for c in calls], "results": results}
        )
        if closing is None:
            self.reject("closing", f"closing:{why}")
            return None
        self.counters["rounds_ok"] += 1
        return {
            "query": query,
            "supply": supply,
            "withhold": withhold,
            "think": think,
            "calls": calls,
            "results": results,
            "after": after,
            "closing": closing,
            "attempts": attempts,
            "target": target,
            "error_step": error_step,
            "trace_tools": [s.name for s in trace],
            "outputs": [s.result for s in trace],
        }

    def _error_prefix(self, instances, failures, calls, results):
        """A phase-I failure replayed at the round start that changes no state, followed by the verified calls
        reproducing the same results: (failed Step, live instances after both) or None."""
        names = {c.name for c in calls}
        ordered = sorted(failures, key=lambda f: f[0].name not in names)
        for failed, _ in ordered[:3]:
            work = copy_state(instances)
            before = {name: snapshot(inst) for name, inst in work.items()}
            result = run_call(work, failed.call)
            if not is_failure(result) or {name: snapshot(inst) for name, inst in work.items()} != before:
                continue
            if [run_call(work, c) for c in calls] == results:
                return Step(failed.call, result), work
        return None


async def synthesize_trajectory(index: int, config: SynthConfig, seed: int, teacher: Teacher) -> TrajectoryOutcome:
    """Build trajectory number `index` (see the module docstring); never raises for teacher or data problems."""
    rng = random.Random(f"{seed}:{index}")
    refs_all = list(config.environments)
    k = min(len(refs_all), _range(rng, config.classes_per_trajectory, "classes_per_trajectory") or 1)
    refs = rng.sample(refs_all, k=max(1, k))
    env = resolve_env(refs)
    graph = graph_for(env, refs, config)
    docs = env.docs()
    state = _Round(env, refs, config, rng, teacher, graph, docs)
    initial_config = env.generate_config(rng)
    long_context = rng.random() < config.long_context_ratio
    instances = env.make_instances(initial_config, long_context=long_context)

    n_rounds = max(1, _range(rng, config.rounds, "rounds"))
    miss_func_round, missing = None, None
    if rng.random() < config.miss_func_ratio:
        miss_func_round = rng.randrange(n_rounds)
        missing = rng.choice([d["name"] for d in docs])

    messages: list[dict] = []
    turns: list[dict] = []
    history: list[dict] = []
    called: set[str] = set()
    pools = ValuePools()
    flags = {"error_tool_response": False, "miss_param": False, "miss_func": False}
    for r in range(n_rounds):
        is_func_round = r == miss_func_round
        exclude = {missing} if missing and miss_func_round is not None and r < miss_func_round else set()
        miss_param = rng.random() < config.miss_param_ratio
        piece = None
        for retry in range(1 + config.round_retries):
            target = missing if is_func_round and retry == 0 else None
            piece = await state.run(instances, called, pools, history, exclude, target, miss_param)
            if piece is not None and is_func_round and missing not in {c.name for c in piece["calls"]}:
                state.reject("assembly", "miss_func_target_not_reached")
                piece = None
            if piece is not None:
                break
        if piece is None:
            if is_func_round:
                miss_func_round = None  # the tool was never withheld in the end
            continue

        base_turn = {"phase2": config.phase2, "phase3_attempts": piece["attempts"], "target": piece["target"]}
        if piece["withhold"]:
            messages.append({"role": "user", "content": piece["query"]})
            ask, why = await state.agents.closing({"mode": "ask_param", "param": piece["withhold"]["param"]})
            reply = ask["reply"] if ask else f"Which {piece['withhold']['param']} should I use?"
            messages.append({"role": "assistant", "content": reply, "reasoning_content": (ask or {}).get("think", "")})
            turns.append(
                {**base_turn, "ground_truth": [], "kind": "miss_param", "withheld": piece["withhold"]["param"]}
            )
            flags["miss_param"] = True
            user_text, kind = piece["supply"], "miss_param_followup"
        elif is_func_round:
            messages.append({"role": "user", "content": piece["query"]})
            cannot, why = await state.agents.closing({"mode": "cannot", "query": piece["query"], "tool": missing})
            reply = cannot["reply"] if cannot else "I can't do that with the tools I have right now."
            messages.append(
                {"role": "assistant", "content": reply, "reasoning_content": (cannot or {}).get("think", "")}
            )
            turns.append({**base_turn, "ground_truth": [], "kind": "miss_func", "missing_functions": [missing]})
            flags["miss_func"] = True
            # BFCL's holdout turn; train renders it as eval does (chat.holdout), from metadata.missed_function
            user_text = HOLDOUT_FC
            kind = "miss_func_followup"
        else:
            user_text, kind = piece["query"], "normal"
        messages.append({"role": "user", "content": user_text})
        turn = {**base_turn, "kind": kind}
        if kind == "miss_func_followup":
            turn["added_functions"] = [missing]
        if piece["error_step"] is not None:
            err = piece["error_step"]
            messages.append(_assistant_calls([err.call], f"I'll start by calling `{err.name}`."))
            messages.append({"role": "tool", "name": err.name, "content": err.result})
            think = f"The previous call failed ({err.result[:120]}). Let me work it out properly.\n{piece['think']}"
            turn["error_tool_response"] = True
            flags["error_tool_response"] = True
        else:
            think = piece["think"]
        messages.append(_assistant_calls(piece["calls"], think))
        messages += [
            {"role": "tool", "name": c.name, "content": res} for c, res in zip(piece["calls"], piece["results"])
        ]
        messages.append(
            {"role": "assistant", "content": piece["closing"]["reply"], "reasoning_content": piece["closing"]["think"]}
        )
        turn["ground_truth"] = [c.to_python() for c in piece["calls"]]
        turns.append(turn)
        history += [{"user": user_text, "calls": turn["ground_truth"], "results": [r[:300] for r in piece["results"]]}]
        instances = piece["after"]
        called |= {c.name for c in piece["calls"]}
        for res in piece["results"]:
            pools.add_output(res)

    counters = dict(state.counters)
    counters["teacher_requests"] = state.agents.requests
    if not turns or all(not t["ground_truth"] for t in turns):
        state.reject("assembly", "no_round_survived")
        return TrajectoryOutcome(None, state.rejections, counters)
    missed = {str(i): t["added_functions"] for i, t in enumerate(turns) if t.get("added_functions")}
    flags["miss_func"] = bool(missed)
    record = {
        "id": f"funreason_mt_{seed}_{index}",
        "messages": messages,
        "tools": offered_tools(docs, messages, missing, config, rng),
        "metadata": {
            "environment": env.name,
            "environment_refs": refs,
            "involved_classes": env.classes,
            "initial_config": json.loads(json.dumps(initial_config)),
            "long_context": long_context,
            "turns": turns,
            "teacher": getattr(state.agents.teacher, "name", "unknown"),
            "flags": flags,
            "missed_function": missed,
            "phase2": config.phase2,
            "phase3": config.phase3,
            "seed": seed,
            "index": index,
        },
    }
    counters["turns"] = len(turns)
    counters["calls"] = sum(len(t["ground_truth"]) for t in turns)
    return TrajectoryOutcome(record, state.rejections, counters)
