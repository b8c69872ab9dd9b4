"""The probed API graph of BFCL's eight multi-turn classes against a hand-checked list of their real dependencies.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_graph_quality.py

An edge A -> B is real when, from a fresh state, B cannot do its job until A has run, read from the classes' source
(bfcl_eval/eval_checker/multi_turn_eval/func_source_code): either A establishes B's precondition (a login, the brake
pressed and the doors locked before the engine starts, a running engine before cruise control, a file or an empty
folder to act on), or B takes an identifier that only A's output tells (an access token, a zip code, a ticker
symbol, an order, booking, card, tweet or ticket ID). Merely related tools (ls before cat, a title copied into a new
ticket, a username read off a tweet) are not dependencies. The graph is measured on all its edges (hard, soft and
value edges together), the set the sampler's distances run on.
"""

from __future__ import annotations

import pytest
from funreason.envs.resolve import resolve_env
from funreason.synth.api_graph import load_or_build

_LOGIN = {
    "authenticate_travel": [
        "book_flight", "cancel_booking", "get_booking_history", "get_credit_card_balance", "purchase_insurance",
        "register_credit_card", "retrieve_invoice", "set_budget_limit",
    ],
    "authenticate_twitter": ["comment", "follow_user", "list_all_following", "post_tweet", "retweet", "unfollow_user"],
    "message_login": ["delete_message", "get_message_stats", "search_messages", "send_message", "view_messages_sent"],
    "ticket_login": ["create_ticket", "get_user_tickets", "logout"],
    "trading_login": [
        "fund_account", "get_account_info", "get_order_history", "get_transaction_history", "get_watchlist",
        "place_order", "remove_stock_from_watchlist", "withdraw_funds",
    ],
}  # fmt: skip
_STATE = {
    "lockDoors": ["startEngine"],
    "pressBrakePedal": ["startEngine"],
    "startEngine": ["setCruiseControl"],
    "cd": ["cat", "cp", "diff", "grep", "rm", "sort", "tail", "wc"],  # into a folder with files to act on
    "touch": ["cat", "cp", "diff", "rm", "sort", "tail", "wc"],  # a file to act on
    "mkdir": ["rmdir"],  # an empty folder
}
_IDENTIFIERS = {
    "get_zipcode_based_on_city": ["estimate_distance"],  # zip codes
    "get_symbol_by_name": ["get_stock_info"],  # ticker symbol
    "place_order": ["cancel_order", "get_order_details"],  # order id
    "book_flight": ["cancel_booking", "contact_customer_support", "purchase_insurance", "retrieve_invoice"],
    "get_booking_history": ["book_flight", "get_credit_card_balance", "purchase_insurance"],  # card, booking ids
    "register_credit_card": ["book_flight", "get_credit_card_balance", "purchase_insurance"],  # card id
    "get_user_id": ["message_login", "send_message"],  # user id
    "add_contact": ["send_message"],  # the new contact's user id
    "post_tweet": ["comment", "get_tweet", "get_tweet_comments", "mention", "retweet"],  # tweet id
    "create_ticket": ["close_ticket", "edit_ticket", "get_ticket", "resolve_ticket"],  # ticket id
}
REAL = {(a, b) for table in (_LOGIN, _STATE, _IDENTIFIERS) for a, bs in table.items() for b in bs}
CLASSES = ["GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI", "TradingBot", "TravelAPI",
           "VehicleControlAPI"]  # fmt: skip


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    cache = tmp_path_factory.mktemp("graphs")
    graph = load_or_build(resolve_env(CLASSES), cache_dir=cache)
    return graph, graph.edges()


def test_hand_list_names_real_tools(edges):
    graph, _ = edges
    assert {t for pair in REAL for t in pair} <= set(graph.tools)


def test_graph_recall_and_precision(edges):
    _, built = edges
    found = built & REAL
    recall, precision = len(found) / len(REAL), len(found) / len(built)
    report = (
        f"recall {recall:.2f}, precision {precision:.2f}; missed {sorted(REAL - built)}; extra {sorted(built - REAL)}"
    )
    print(report)
    assert recall >= 0.9, report
    assert precision >= 0.8, report


def test_the_edges_the_issue_names(edges):
    graph, built = edges
    assert {("pressBrakePedal", "startEngine"), ("get_zipcode_based_on_city", "estimate_distance")} <= built
    assert graph.prerequisites("startEngine") == ["lockDoors", "pressBrakePedal"]
    assert not graph.is_legal("setCruiseControl", {"lockDoors"}) and graph.is_legal("setCruiseControl", {"startEngine"})
    assert len(graph.soft.get("fillFuelTank", [])) + len(graph.hard.get("fillFuelTank", [])) <= 1, "no soft noise"


def test_only_tools_that_never_work_are_dead(edges):
    """Dead tools are never phase-I targets: only those no probe saw succeed, even after their enablers
    (weather_com always answers 404; search_messages fails on BFCL-shaped inboxes, whose messages are lists)."""
    graph, _ = edges
    assert sorted(graph.dead) == ["get_outside_temperature_from_weather_com", "search_messages"]
