"""Quoted leaderboard rows are consistent with themselves and with our own v4 group formulas: each row's Multi-Turn
is the mean of its four categories, and eval.csvs.groups, given the row's category scores, reproduces the board's
Overall (the board rounds to 0.01). A mistyped quote, or a drift of our weights from BFCL's, fails here.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_paper_rows.py
"""

from __future__ import annotations

import pytest
from funreason.eval.csvs import groups
from funreason.eval.paper import LEADERBOARD_V4_ROWS, PAPER_ROWS


def _scores(**accuracy: float) -> dict:
    return {c: {"accuracy": a / 100, "correct_count": 0, "total_count": 1} for c, a in accuracy.items()}


@pytest.mark.parametrize("row", LEADERBOARD_V4_ROWS, ids=lambda r: r.model)
def test_leaderboard_rows_reproduce_the_boards_overall_with_our_weights(row):
    assert (row.base + row.miss_func + row.miss_param + row.long_context) / 4 == pytest.approx(row.multi_turn, abs=0.01)
    # Leaves chosen so every group equals the board's group figure (each group is a mean of its leaves).
    nl, live, irr = row.non_live, row.live, row.irrelevance
    scores = _scores(
        simple_python=nl, simple_java=nl, simple_javascript=nl, multiple=nl, parallel=nl, parallel_multiple=nl,
        live_simple=live, live_multiple=live, live_parallel=live, live_parallel_multiple=live,
        irrelevance=irr, live_irrelevance=irr, live_relevance=row.relevance,
        multi_turn_base=row.base, multi_turn_miss_func=row.miss_func, multi_turn_miss_param=row.miss_param,
        multi_turn_long_context=row.long_context,
        web_search_base=row.web_search, web_search_no_snippet=row.web_search,
        memory_kv=row.memory, memory_vector=row.memory, memory_rec_sum=row.memory,
    )  # fmt: skip
    g = groups(scores)
    assert g["Multi-Turn"]["display"] * 100 == pytest.approx(row.multi_turn, abs=0.01)
    assert g["Agentic"]["display"] * 100 == pytest.approx(row.agentic, abs=1e-9)
    assert g["Overall"]["display"] * 100 == pytest.approx(row.overall, abs=0.02)


def test_paper_rows_multi_turn_overall_is_the_mean_of_the_four_categories():
    for name, overall, *parts in PAPER_ROWS:
        assert sum(parts) / 4 == pytest.approx(overall, abs=0.01), name
