"""The measurement run of recipes/synth_bfcl8.yaml (all eight BFCL classes, 600 trajectories, template teacher):
every tool BFCL's multi-turn ground truth uses appears in a successful call of accepted data, phase-I targets are
reached, no identical call repeats needlessly, requests do not restate tool docs, and every trajectory replays in
fresh official backends. stats.json reports the same figures.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_coverage.py      # ~30 s on 2 cores
"""

from __future__ import annotations

import asyncio

import pytest
from funreason.core.recipe import load_recipe
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.stats import SynthStats, bfcl_ground_truth_tools
from funreason.synth.teachers.template import TemplateTeacher
from funreason.synth.trajectory import is_failure, replay_record


@pytest.fixture(scope="module")
def run():
    recipe = load_recipe("recipes/synth_bfcl8.yaml")
    config = recipe.synth

    async def many():
        teacher = TemplateTeacher()
        return await asyncio.gather(
            *(synthesize_trajectory(i, config, recipe.seed, teacher) for i in range(config.num_trajectories))
        )

    outcomes = asyncio.run(many())
    stats = SynthStats()
    for outcome in outcomes:
        stats.add(outcome)
    return [o.record for o in outcomes if o.record], stats.to_dict()


def test_every_bfcl_ground_truth_tool_is_used(run):
    records, data = run
    truth = bfcl_ground_truth_tools()
    assert len(truth) == 81  # the multi-turn ground truth of the installed bfcl_eval
    coverage = data["bfcl_ground_truth_coverage"]
    assert coverage["tools"] == 81 and coverage["missing"] == [], coverage["missing"]
    # used means: in a ground-truth call of an accepted record, whose recorded result is not a failure
    ok = set()
    for record in records:
        results = iter(m["content"] for m in record["messages"] if m["role"] == "tool")
        for m in record["messages"]:
            for tc in m.get("tool_calls") or []:
                name = tc["function"]["name"]
                if not is_failure(next(results), name):
                    ok.add(name)
    assert set(truth) <= ok, sorted(set(truth) - ok)
    # Outside BFCL's ground truth, two tools hardly ever work: weather_com always answers 404, and BFCL's own
    # search_messages raises on the list-valued inbox entries BFCL's states (and ours) hold, so it works only on an
    # emptied inbox (probing marks it dead; 0-1 uses in 600 trajectories, as the seed falls).
    assert set(data["tool_coverage"]["never_used"]) <= {"get_outside_temperature_from_weather_com", "search_messages"}


def test_targets_repeats_and_doc_restating(run):
    _, data = run
    quality = data["quality"]
    assert quality["targets_reached"] >= 0.95, quality
    assert quality["turns_repeating_a_call"] <= 0.06, quality
    assert quality["calls_restating_docs"] <= 0.05, quality


def test_every_trajectory_replays_one_after_another(run):
    records, _ = run
    assert len(records) >= 590
    bad = {r["id"]: p for r in records if (p := replay_record(r))}
    assert not bad, list(bad.items())[:3]
