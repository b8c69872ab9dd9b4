"""envs.states: seeded initial configs for the 8 BFCL classes load, work, and share no content with BFCL's tests."""

from __future__ import annotations

import json
import random

import pytest
from funreason.envs.bfcl import load_entries, new_backends
from funreason.envs.dispatch import Dispatcher
from funreason.envs.states import CLASS_GENERATORS, generate_initial_config, generate_initial_configs
from funreason.synth.trajectory import is_failure

# One read-only call per class that must succeed on any generated state (proves the state is usable).
PROBES = {
    "GorillaFileSystem": ["ls()", "pwd()", "du(human_readable=True)"],
    "MathAPI": ["add(a=2.0, b=3.0)"],
    "MessageAPI": ["list_users()"],
    "TwitterAPI": ["get_tweet(tweet_id=0)"],
    "TicketAPI": ["get_ticket(ticket_id={ticket})"],
    "TradingBot": ["get_stock_info(symbol='{symbol}')", "get_order_details(order_id={order})"],
    "TravelAPI": ["get_all_credit_cards()", "list_all_airports()"],
    "VehicleControlAPI": ["displayCarStatus(option='fuel')", "check_tire_pressure()"],
}
# Vocabulary that belongs to the tools' code or to BFCL's schema, shared by necessity (enums, symbols, codes).
STRUCTURAL = {
    "directory", "file", "Open", "In Progress", "Closed", "Resolved", "Buy", "Sell", "Completed", "Pending",
    "Visa", "Mastercard", "Discover", "American Express", "economy", "business", "first", "None", "auto", "cool",
    "heat", "defrost", "on", "off", "locked", "unlocked", "engaged", "released", "stopped", "inactive",
    "driver", "passenger", "rear_left", "rear_right",
}  # fmt: skip


def _content_strings(class_name: str, config: dict) -> set[str]:
    """String values plus the keys that are names (files, folders, users): what a test state is made of."""
    out: set[str] = set()

    def walk(value, parent_key=""):
        if isinstance(value, dict):
            for key, sub in value.items():
                if parent_key in ("contents", "root", "user_map"):
                    out.add(str(key))
                walk(sub, str(key))
        elif isinstance(value, list):
            for sub in value:
                walk(sub, parent_key)
        elif isinstance(value, str):
            out.add(value)

    walk(config)
    symbols = set(config.get("stocks", {})) if class_name == "TradingBot" else set()
    airports = {"SFO", "LAX", "JFK", "ORD", "BOS", "SEA"}
    return {s for s in out if s not in STRUCTURAL and s not in symbols and s not in airports}


@pytest.fixture(scope="module")
def bfcl_configs() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for category in ("base", "miss_func", "miss_param", "long_context"):
        for entry in load_entries(category):
            for name, config in entry["initial_config"].items():
                out.setdefault(name, []).append(config)
    return out


@pytest.mark.parametrize("class_name", sorted(CLASS_GENERATORS))
def test_configs_load_and_tools_work(class_name):
    for seed in range(6):
        config = generate_initial_config(class_name, random.Random(seed))
        assert config == generate_initial_config(class_name, random.Random(seed)), "not deterministic"
        json.loads(json.dumps(config))  # storable in trajectory metadata
        for long_context in (False, True):
            instances = new_backends({class_name: config}, [class_name], long_context=long_context)
            fill = {}
            if class_name == "TicketAPI":
                fill["ticket"] = config["ticket_queue"][0]["id"]
            if class_name == "TradingBot":
                fill = {"symbol": next(iter(config["stocks"])), "order": next(iter(config["orders"]))}
            for call in PROBES[class_name]:
                result = Dispatcher(instances).execute(call.format(**fill))
                assert not is_failure(result), f"{class_name} seed {seed}: {call} -> {result}"
    configs = [json.dumps(generate_initial_config(class_name, random.Random(s)), sort_keys=True) for s in range(20)]
    if class_name != "MathAPI":
        assert len(set(configs)) == 20, "seeds should give different states"


@pytest.mark.parametrize("class_name", sorted(c for c in CLASS_GENERATORS if c != "MathAPI"))
def test_no_content_shared_with_bfcl_tests(class_name, bfcl_configs):
    bfcl_strings: set[str] = set()
    bfcl_dumps = set()
    for config in bfcl_configs.get(class_name, []):
        bfcl_strings |= _content_strings(class_name, config)
        bfcl_dumps.add(json.dumps(config, sort_keys=True))
    assert bfcl_strings, f"found no BFCL test content for {class_name}"
    for seed in range(40):
        config = generate_initial_config(class_name, random.Random(seed))
        shared = _content_strings(class_name, config) & bfcl_strings
        assert not shared, f"{class_name} seed {seed} reuses BFCL test content: {sorted(shared)[:5]}"
        assert json.dumps(config, sort_keys=True) not in bfcl_dumps


def test_multi_class_configs_and_unknown_class():
    configs = generate_initial_configs(["TravelAPI", "TwitterAPI"], random.Random(1))
    assert list(configs) == ["TravelAPI", "TwitterAPI"]
    with pytest.raises(ValueError, match="no initial-state generator"):
        generate_initial_config("NoSuchAPI", random.Random(0))
