"""No backend state leaks between instances of one process: trajectories, eval entries and rollouts replay alike.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/envs/test_clean_replays.py

Two leaks of BFCL's backends, both through objects every instance of the process shares: the mutable default of
`TwitterAPI.post_tweet(mentions=[])` (extended in place by `mention()`), and the long-context padding constants
TravelAPI inserts as they are (charged by a booking). The dispatcher passes fresh copies of mutable defaults
(envs/defaults.py) and `new_backends` copies what a long-context load inserted.
"""

from __future__ import annotations

import asyncio
import json
import random

from funreason.core.recipe import load_recipe
from funreason.envs.bfcl import new_backends
from funreason.envs.dispatch import Dispatcher
from funreason.envs.states import generate_initial_config
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.teachers.template import TemplateTeacher
from funreason.synth.trajectory import replay_record


def _twitter(seed: int) -> Dispatcher:
    config = {"TwitterAPI": generate_initial_config("TwitterAPI", random.Random(seed))}
    config["TwitterAPI"]["authenticated"] = True
    return Dispatcher(new_backends(config, ["TwitterAPI"]))


def test_mention_does_not_leak_into_later_tweets():
    first = _twitter(1)
    posted = json.loads(first.execute("post_tweet(content='hello')"))
    assert posted["mentions"] == []
    assert "mention_status" in first.execute(f"mention(tweet_id={posted['id']}, mentioned_usernames=['@ann'])")
    again = json.loads(first.execute("post_tweet(content='again')"))
    assert again["mentions"] == [], "a later tweet of the same instance"
    other = json.loads(_twitter(2).execute("post_tweet(content='elsewhere')"))
    assert other["mentions"] == [] and other["tags"] == [], "a tweet of another instance"
    explicit = json.loads(_twitter(3).execute("post_tweet(content='x', mentions=['@bo'])"))
    assert explicit["mentions"] == ["@bo"]
    from bfcl_eval.eval_checker.multi_turn_eval.func_source_code.posting_api import TwitterAPI

    assert TwitterAPI.post_tweet.__defaults__ == ([], []), "BFCL's own default is never touched"


def test_long_context_padding_is_not_shared():
    config = {"TravelAPI": generate_initial_config("TravelAPI", random.Random(0))}
    one = new_backends(config, ["TravelAPI"], long_context=True)["TravelAPI"]
    two = new_backends(config, ["TravelAPI"], long_context=True)["TravelAPI"]
    padded = next(c for c in one.credit_card_list if c not in config["TravelAPI"]["credit_card_list"])
    before = two.credit_card_list[padded]["balance"]
    one.credit_card_list[padded]["balance"] -= 100  # what book_flight does to the card it charges
    assert two.credit_card_list[padded]["balance"] == before
    assert (
        new_backends(config, ["TravelAPI"], long_context=True)["TravelAPI"].credit_card_list[padded]["balance"]
        == before
    )


def test_smoke_recipe_trajectories_replay_after_each_other_in_one_process():
    """Trajectories of the smoke recipe's synth section (Twitter, tickets, files), synthesized in this process, then
    replayed one after another in fresh official backends of the same process: every recorded result reproduces."""
    config = load_recipe("recipes/smoke.yaml").synth
    config.long_context_ratio = 0.3  # make the padding leak reachable too

    async def many():
        teacher = TemplateTeacher()
        return await asyncio.gather(*(synthesize_trajectory(i, config, 3, teacher) for i in range(160)))

    records = [o.record for o in asyncio.run(many()) if o.record]
    assert len(records) >= 150
    assert sum("mention(" in c for r in records for t in r["metadata"]["turns"] for c in t["ground_truth"]) >= 3
    bad = {r["id"]: replay_record(r) for r in records}
    assert not {k: v for k, v in bad.items() if v}
