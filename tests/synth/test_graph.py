"""Phase I: the API graph finds real dependencies by probing, and the directed sampler follows Eq. 1-2."""

from __future__ import annotations

import json
import math
import random

import pytest
from funreason.envs.resolve import resolve_env
from funreason.synth.api_graph import ApiGraph, load_or_build
from funreason.synth.sampler import DirectedSampler
from funreason.synth.trajectory import is_failure

TOY = "tests.toy_env:ToyLibrary"


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    cache = tmp_path_factory.mktemp("graphs")
    names = ["TravelAPI", "GorillaFileSystem", "TwitterAPI", TOY]
    return cache, {n.split(":")[-1]: load_or_build(resolve_env([n]), cache_dir=cache) for n in names}


def test_probing_edges_on_bfcl(graphs):
    _, g = graphs
    travel = g["TravelAPI"]
    for tool in ("book_flight", "register_credit_card", "get_booking_history", "cancel_booking"):
        assert travel.prerequisites(tool) == ["authenticate_travel"], tool
        assert not travel.is_legal(tool, set())
        assert travel.is_legal(tool, {"authenticate_travel"})
    assert travel.is_legal("list_all_airports", set())
    flows = {(e["src"], e["dst"], e["field"], e["param"]) for e in travel.value_edges}
    assert ("authenticate_travel", "book_flight", "access_token", "access_token") in flows
    fs = g["GorillaFileSystem"]
    assert "cd" in fs.soft.get("cat", []), "cd should enable cat in a folder without files"
    assert fs.distance("cd", "cat") == 1
    assert fs.is_legal("cat", set()), "soft edges only shorten distances, they do not block"
    # generated Twitter states start logged in or out, so the login is an enabler of post_tweet, hard or soft
    twitter = g["TwitterAPI"]
    assert "authenticate_twitter" in twitter.prerequisites("post_tweet") + twitter.soft.get("post_tweet", [])


def test_probing_edges_on_toy_env(graphs):
    _, g = graphs
    toy = g["ToyLibrary"]
    assert toy.prerequisites("checkout") == ["login"]
    assert toy.prerequisites("find_book") == [] and toy.prerequisites("book_info") == []
    flows = {(e["src"], e["dst"], e["param"]) for e in toy.value_edges}
    assert ("find_book", "book_info", "book_id") in flows
    assert toy.distance("find_book", "book_info") == 1
    assert toy.distance("renew", "login") == math.inf


def test_cache_dot_and_overrides(graphs, tmp_path):
    cache, g = graphs
    path = next(cache.glob("TravelAPI.*.json"))
    assert ApiGraph.from_json(json.loads(path.read_text())).to_json() == g["TravelAPI"].to_json()
    dot = g["TravelAPI"].to_dot()
    assert '"authenticate_travel" -> "book_flight"' in dot and dot.startswith("digraph")
    g["TravelAPI"].write_dot(tmp_path / "t.dot")
    assert (tmp_path / "t.dot").read_text() == g["TravelAPI"].to_dot("t")
    edited = load_or_build(
        resolve_env(["TravelAPI"]), cache_dir=cache, overrides=["list_all_airports->get_flight_cost"]
    )
    assert "list_all_airports" in edited.prerequisites("get_flight_cost")
    removed = load_or_build(
        resolve_env(["TravelAPI"]), cache_dir=cache, overrides=["!authenticate_travel->book_flight"]
    )
    assert removed.is_legal("book_flight", set())
    assert ("authenticate_travel", "book_flight") not in removed.edges()
    with pytest.raises(ValueError, match="A->B"):
        ApiGraph(tools=["a"]).apply_overrides(["a=>b"])


@pytest.mark.parametrize("name,target", [("TravelAPI", "book_flight"), ("TwitterAPI", "comment"), (TOY, "checkout")])
def test_sampler_respects_legality_and_reaches_target(graphs, name, target):
    _, g = graphs
    env = resolve_env([name])
    graph = g[env.classes[0]]
    docs = env.docs()
    reached = 0
    for seed in range(8):
        rng = random.Random(seed)
        instances = env.make_instances(env.generate_config(rng))
        trace, failures, _ = DirectedSampler(graph, docs, rng).run(instances, target, length=6)
        called: set[str] = set()
        for step in trace:
            assert graph.is_legal(step.name, called), f"{step.name} sampled before its prerequisites"
            assert not is_failure(step.result), "failed calls must stay out of the trace"
            called.add(step.name)
        assert all(is_failure(f.result) for f, _ in failures)
        if target in called:
            first = [s.name for s in trace].index(target)
            # Eq. 2: before the target, every step moves toward it (distance finite)
            assert all(graph.distance(s.name, target) < math.inf for s in trace[:first])
            reached += 1
    assert reached >= 6, f"target {target} reached in only {reached}/8 traces"


def test_sampler_is_deterministic_and_carries_state(graphs):
    _, g = graphs
    env = resolve_env(["TravelAPI"])
    docs = env.docs()

    def run(seed):
        rng = random.Random(seed)
        instances = env.make_instances(env.generate_config(rng))
        trace, _, after = DirectedSampler(g["TravelAPI"], docs, rng).run(instances, "book_flight", length=4)
        return [(s.call.to_python(), s.result) for s in trace], after

    (a, after), (b, _) = run(3), run(3)
    assert a == b
    assert any(c.startswith("authenticate_travel") for c, _ in a)
    assert after["TravelAPI"].access_token is not None  # the live state moved on


def test_detours_before_the_target_are_dropped():
    """Eq. 2 walks toward startEngine with sampled arguments; the trace keeps only what the target needs: no half
    brake press before the full one, no door unlocked and locked again."""
    env = resolve_env(["VehicleControlAPI"])
    graph = load_or_build(env)
    docs = env.docs()
    checked = 0
    for seed in range(12):
        rng = random.Random(seed)
        instances = env.make_instances(env.generate_config(rng))
        trace, _, _ = DirectedSampler(graph, docs, rng).run(instances, "startEngine", length=6)
        names = [s.name for s in trace]
        if "startEngine" not in names:
            continue
        checked += 1
        before = trace[: names.index("startEngine")]
        assert [s.name for s in before].count("pressBrakePedal") <= 1, names
        assert all(s.call.arguments.get("pedalPosition", 1.0) == 1.0 for s in before), names
        assert not any(s.name == "lockDoors" and s.call.arguments["unlock"] for s in before), names
    assert checked >= 4
