"""The API relation graph G = (T, R, P) of FunReason-MT phase I, built automatically by probing an environment.

    from funreason.synth.api_graph import load_or_build
    graph = load_or_build(env_spec, cache_dir="runs/x/synth/graphs", overrides=["authenticate_travel->book_flight"])
    graph.distance("authenticate_travel", "book_flight")     # shortest-path hops (inf when unreachable)
    graph.is_legal("book_flight", called={"authenticate_travel"})
    graph.write_dot("travel.dot"); graph.write_png("travel.png")  # PNG only when graphviz `dot` is installed

How edges are found (the report leaves this open, §12.3), by execution probing in several fresh states (seeded
generated configs); tests/synth/test_graph_quality.py measures the result against a hand-checked list:
- Alone: each tool B is tried alone; its failed calls are kept.
- Enablers: after each other tool A, B's *exact* failed calls are replayed. If one now succeeds or fails with a
  different message, A changed what B depends on (a login, the brake pressed, the doors locked); the same calls
  are replayed, so a change never comes from luckier arguments. A is also an enabler when B had nothing to act on
  alone and works after A (a file to read), or works after A with an identifier A returned (an access token, zip
  codes: A is called twice when B takes two). A tool that never works in a fresh state is probed again after its
  own enabler (setCruiseControl after startEngine after the brake), against that enabler's state. If B never
  succeeds alone in any probe the edge is *hard*: A is a prerequisite of B for Eq. 1; otherwise it is *soft*
  (cd→cat in a folder without files) and only shortens distances.
- Value flow: A→B when B succeeds after A with an argument drawn from A's output that is an identifier A told
  and was not given (an ID, a token, a code, a ticker symbol; not free text, names or echoed arguments).
- Recipe overrides: `"A->B"` adds a hard edge, `"!A->B"` removes every edge A→B.
Graphs of multi-class environments are the union of per-class graphs (BFCL classes share no state), cached per
class as JSON under the cache directory, keyed by class name and probe settings.
"""

from __future__ import annotations

import copy
import json
import math
import random
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funreason.core.atomic import atomic_write_text
from funreason.envs.base import Frozen
from funreason.envs.dispatch import SET_ASIDE
from funreason.envs.resolve import EnvSpec
from funreason.synth.sampler import ValuePools, attempt
from funreason.synth.trajectory import Step, is_failure, run_call

GRAPH_VERSION = 3


@dataclass
class ApiGraph:
    tools: list[str]
    hard: dict[str, list[str]] = field(default_factory=dict)  # B -> prerequisites A (probing, B never works alone)
    soft: dict[str, list[str]] = field(default_factory=dict)  # B -> enablers A (probing, B sometimes works alone)
    value_edges: list[dict] = field(default_factory=list)  # {"src", "field", "dst", "param", "via"}
    dead: list[str] = field(default_factory=list)  # tools no probe saw succeed (weather_com always answers 404)
    _dist: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    # --- queries ---------------------------------------------------------------------------------------------

    def edges(self) -> set[tuple[str, str]]:
        out = {(a, b) for b, srcs in self.hard.items() for a in srcs}
        out |= {(a, b) for b, srcs in self.soft.items() for a in srcs}
        out |= {(e["src"], e["dst"]) for e in self.value_edges}
        return {(a, b) for a, b in out if a != b}

    def prerequisites(self, tool: str) -> list[str]:
        return list(self.hard.get(tool, []))

    def is_legal(self, tool: str, called: set[str]) -> bool:
        """Eq. 1 with OR-ed alternatives: no hard prerequisite, or one of them already called."""
        prereq = self.hard.get(tool)
        return not prereq or any(p in called for p in prereq)

    def in_degree(self, tool: str) -> int:
        return sum(1 for _, b in self.edges() if b == tool)

    def distance(self, src: str, dst: str) -> float:
        """Shortest-path hops from src to dst over all edges (0 for src == dst, inf when unreachable)."""
        if not self._dist:
            adjacency: dict[str, set[str]] = {t: set() for t in self.tools}
            for a, b in self.edges():
                adjacency.setdefault(a, set()).add(b)
            for start in adjacency:
                seen = {start: 0}
                queue = deque([start])
                while queue:
                    node = queue.popleft()
                    for nxt in adjacency.get(node, ()):
                        if nxt not in seen:
                            seen[nxt] = seen[node] + 1
                            queue.append(nxt)
                self._dist[start] = seen
        return self._dist.get(src, {}).get(dst, math.inf)

    # --- editing, merging, persistence -----------------------------------------------------------------------

    def apply_overrides(self, overrides: list[str]) -> ApiGraph:
        for text in overrides:
            remove = text.startswith("!")
            a, sep, b = text.lstrip("!").partition("->")
            a, b = a.strip(), b.strip()
            if not sep or not a or not b:
                raise ValueError(f"synth.graph_edges: {text!r} is not of the form 'A->B' or '!A->B'")
            if a not in self.tools or b not in self.tools:
                continue  # an edge for another environment's tools
            if remove:
                for table in (self.hard, self.soft):
                    if a in table.get(b, []):
                        table[b].remove(a)
                self.value_edges = [e for e in self.value_edges if (e["src"], e["dst"]) != (a, b)]
            elif a not in self.hard.setdefault(b, []):
                self.hard[b].append(a)
        self._dist.clear()
        return self

    @classmethod
    def union(cls, graphs: list[ApiGraph]) -> ApiGraph:
        out = cls(tools=[t for g in graphs for t in g.tools])
        for g in graphs:
            out.hard.update({k: list(v) for k, v in g.hard.items()})
            out.soft.update({k: list(v) for k, v in g.soft.items()})
            out.value_edges.extend(g.value_edges)
            out.dead.extend(g.dead)
        return out

    def to_json(self) -> dict:
        return {
            "version": GRAPH_VERSION,
            "tools": self.tools,
            "hard": self.hard,
            "soft": self.soft,
            "value_edges": self.value_edges,
            "dead": self.dead,
        }

    @classmethod
    def from_json(cls, data: dict) -> ApiGraph:
        return cls(
            tools=data["tools"],
            hard=data["hard"],
            soft=data["soft"],
            value_edges=data["value_edges"],
            dead=data.get("dead", []),
        )

    def to_dot(self, name: str = "api_graph") -> str:
        lines = [f'digraph "{name}" {{', "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
        lines += [f'  "{t}";' for t in self.tools]
        for b, srcs in sorted(self.hard.items()):
            lines += [f'  "{a}" -> "{b}" [color=red, penwidth=2, label="requires"];' for a in srcs]
        for b, srcs in sorted(self.soft.items()):
            lines += [f'  "{a}" -> "{b}" [color=orange, style=dashed];' for a in srcs]
        seen = set()
        for e in self.value_edges:
            key = (e["src"], e["dst"], e["field"], e["param"])
            if key not in seen:
                seen.add(key)
                label = e["field"] if e["field"] == e["param"] else f"{e['field']}→{e['param']}"
                lines.append(f'  "{e["src"]}" -> "{e["dst"]}" [color=blue, fontsize=8, label="{label}"];')
        return "\n".join(lines + ["}"]) + "\n"

    def write_dot(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_dot(path.stem))
        return path

    def write_png(self, path: str | Path) -> bool:
        """Render with graphviz `dot` when it is installed; False (and nothing written) otherwise."""
        dot = shutil.which("dot")
        if dot is None:
            return False
        subprocess.run([dot, "-Tpng", "-o", str(path)], input=self.to_dot(), text=True, check=True)
        return True


def _identifier(field: str, value: Any) -> bool:
    """A value a user could not know without a tool telling them: an ID (any number in an `id` field, a number of
    3+ digits elsewhere), a token or code of digits and capitals ("804437", "USR005", "83214"), a ticker symbol
    (4-5 capitals). Free text, handles, enum words and airport codes are not: copying a title, a status or a
    username is not a dependency."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return field.lower().endswith("id") or abs(value) >= 100
    if not isinstance(value, str) or not 3 <= len(value) <= 24 or any(c.islower() or c.isspace() for c in value):
        return False
    return any(c.isdigit() for c in value) or (value.isalpha() and 4 <= len(value) <= 5)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _produced(step: Step) -> set[str]:
    """The identifiers a call's output tells that its arguments did not (an echoed order ID is not produced)."""
    pools, given = ValuePools(), ValuePools()
    pools.add_output(step.result)
    given.add_output(json.dumps(step.call.arguments, default=str))
    echoed = {_key(v) for vals in given.outputs.values() for v in vals}
    return {_key(v) for f, vals in pools.outputs.items() for v in vals if _identifier(f, v)} - echoed


def _progress(state: Frozen, failed: list[Step], baseline: list[str]) -> bool:
    """Whether B's exact failed calls, replayed on `state`, now succeed or fail differently than on the state A
    started from (`baseline`): the same calls, so a change can only come from what A did (a precondition met),
    never from other argument samples."""
    for step, before in zip(failed, baseline):
        result = run_call(state.thaw(), step.call)
        if is_failure(before, step.name) and (not is_failure(result, step.name) or result != before):
            return True
    return False


@dataclass
class _After:
    """The state after a successful call of A (from a fresh state, or after A's own enabler), what it produced, and
    the state A started from."""

    state: Frozen
    pools: ValuePools
    produced: set[str]
    base: Frozen | None = None


def _call_after(doc: dict, base: Frozen, pools: ValuePools, rng: random.Random) -> _After | None:
    step, _, live = attempt(doc, base.thaw(), pools, rng, tries=3, frozen=base)
    if step is None:
        return None
    pools = copy.deepcopy(pools)
    pools.add_output(step.result)
    return _After(Frozen(live), pools, _produced(step), base)


def probe_class(env: EnvSpec, probes: int = 6, seed: int = 0) -> ApiGraph:
    """Build the graph of a one-class EnvSpec by execution probing (see the module docstring)."""
    docs = {d["name"]: d for d in env.docs()}
    tools = list(docs)
    graph = ApiGraph(tools=tools)
    fresh = [Frozen(env.make_instances(env.generate_config(random.Random(f"probe:{seed}:{k}")))) for k in range(probes)]
    alone_ok: dict[str, list[bool]] = {t: [] for t in tools}
    alone_failed: dict[str, list[list[Step]]] = {t: [] for t in tools}
    for t in tools:
        for k, state in enumerate(fresh):
            step, failed, _ = attempt(docs[t], state.thaw(), ValuePools(), random.Random(f"alone:{t}:{k}"), tries=6)
            alone_ok[t].append(step is not None)
            alone_failed[t].append([f for f, _ in failed][:3])
    enablers: dict[str, set[str]] = {t: set() for t in tools}
    flows: dict[tuple, dict] = {}
    after: dict[tuple[str, int], _After] = {}
    # Pass 1 from fresh states; passes 2-3 call A after one of A's own enablers (setCruiseControl needs startEngine,
    # which needs the brake), so tools that never work in a fresh state are probed as sources too.
    worked: set[str] = {t for t in tools if any(alone_ok[t])}
    for probe_pass in (1, 2, 3):
        for a in tools:
            for k, state in enumerate(fresh):
                if (a, k) in after:
                    continue
                if probe_pass == 1:
                    bases = [(state, ValuePools(), True)]
                else:
                    bases = [(after[e, k].state, after[e, k].pools, False) for e in enablers[a] if (e, k) in after]
                for base, pools, is_fresh in sorted(bases, key=lambda b: -b[2])[:3]:
                    done = _call_after(docs[a], base, pools, random.Random(f"pair:{a}:{k}:{probe_pass}"))
                    if done is not None:
                        after[a, k] = done
                        worked.add(a)
                        worked |= _probe_targets(
                            a, k, done, is_fresh, docs, tools, alone_ok, alone_failed, enablers, flows
                        )
                        break
    for b, srcs in enablers.items():
        srcs.discard(b)
        if srcs:
            target = graph.soft if any(alone_ok[b]) else graph.hard
            target[b] = sorted(srcs)
    graph.dead = [t for t in tools if t not in worked]
    graph.value_edges = [{"src": a, "dst": b, "field": f, "param": p, **x} for (a, b, f, p), x in sorted(flows.items())]
    return graph


def _probe_targets(a, k, done: _After, fresh_base, docs, tools, alone_ok, alone_failed, enablers, flows) -> set[str]:
    """Every other tool B after A (state k): enabler edges where B failed alone, value edges where B takes an
    identifier A returned (an access token, a zip code, an order ID). From a fresh state (`fresh_base`) a B that
    had nothing to act on alone (no file to read) and works now is enabled too; after A's own enabler, only
    changes against that enabler's state count. Returns the tools that worked after A."""
    worked = set()
    for b in tools:
        if b == a:
            continue
        failed = alone_failed[b][k]
        if not alone_ok[b][k] and failed:
            baseline = (
                [f.result for f in failed] if fresh_base else [run_call(done.base.thaw(), f.call) for f in failed]
            )
            if _progress(done.state, failed, baseline):
                enablers[b].add(a)
        rng = random.Random(f"flow:{a}:{b}:{k}")
        state, pools, produced = done.state, done.pools, done.produced
        for attempt_no in range(2):
            sources: dict = {}
            step = attempt(docs[b], state.thaw(), pools, rng, tries=2, frozen=state, sources=sources)[0]
            if step is None and not alone_ok[b][k] and not failed and attempt_no == 0:
                # B takes two of A's outputs (estimate_distance: two zip codes): A once more, then B
                again = _call_after(docs[a], state, pools, rng)
                if again is not None:
                    state, pools, produced = again.state, again.pools, produced | again.produced
                    step = attempt(docs[b], state.thaw(), pools, rng, tries=2, frozen=state, sources=sources)[0]
            if step is None:
                continue
            worked.add(b)
            used = [(p, v) for p, v in step.call.arguments.items() if p in sources and _key(v) in produced]
            if fresh_base and not alone_ok[b][k] and (used or not failed):
                enablers[b].add(a)
            for param, value in used:
                field = next(f for f, vals in pools.outputs.items() if value in vals)
                flows.setdefault((a, b, field, param), {"via": "value"})
            if used:
                break
    return worked


def load_or_build(
    env: EnvSpec,
    cache_dir: str | Path | None = None,
    overrides: list[str] | None = None,
    probes: int = 6,
    seed: int = 0,
) -> ApiGraph:
    """The union of per-class graphs, each read from `<cache_dir>/<Class>.json` or probed and written there."""
    graphs = []
    for name in env.classes:
        path = Path(cache_dir) / f"{name}.p{probes}s{seed}.json" if cache_dir else None
        if path is not None and path.exists():
            data = json.loads(path.read_text())
            if data.get("version") == GRAPH_VERSION:
                graphs.append(ApiGraph.from_json(data))
                continue
        graph = probe_class(env.single(name), probes=probes, seed=seed)
        # a tool set aside for timing out looks dead to this run only: such a graph is not cached
        if path is not None and not any(key.startswith(f"{name}.") for key in SET_ASIDE):
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(graph.to_json(), indent=1, sort_keys=True))
        graphs.append(graph)
    return ApiGraph.union(graphs).apply_overrides(list(overrides or []))
