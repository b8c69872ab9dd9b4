"""Seeded initial states for the eight BFCL multi-turn classes, unlike any BFCL test `initial_config`.

    import random
    from funreason.envs.states import generate_initial_config, generate_initial_configs
    config = generate_initial_config("GorillaFileSystem", random.Random("7:0"))
    configs = generate_initial_configs(["TwitterAPI", "TicketAPI"], random.Random(3))   # {class: config}

Every config is a dict that the class's `_load_scenario` accepts (BFCL's key names, including its quirks such as
VehicleControlAPI's `engineState`). Contents come from this module's own vocabularies (file names, people, tweets,
tickets, card numbers...), chosen so that none of them appears in BFCL's test configs; `tests/envs/test_states.py`
checks that programmatically. Fixed vocabularies that belong to the *environment code* (stock symbols known to
`get_symbol_by_name`, airport codes known to `get_flight_cost`, car door names) are shared with BFCL by necessity:
they are part of the tools, not of the test states. Random seeds of the backends are drawn too, so generated IDs
differ from the tests' as well. MathAPI is stateless: its config is `{}`.
"""

from __future__ import annotations

import random
import string

__all__ = [
    "CLASS_GENERATORS",
    "VEHICLE_DISTANCE_PAIRS",
    "VEHICLE_ZIPCODES",
    "generate_initial_config",
    "generate_initial_configs",
]

# Facts of VehicleControlAPI's own code (vehicle_control.py), not of any test state: the cities whose zip code
# `get_zipcode_based_on_city` knows ("00000" for any other), and the city pairs `estimate_distance` has a distance
# for (it takes the two *zip codes*; any other pair is `{"error": "distance not found in database."}`).
VEHICLE_ZIPCODES = {
    "Rivermist": "83214",
    "Stonebrook": "74532",
    "Maplecrest": "56108",
    "Silverpine": "62947",
    "Shadowridge": "71354",
    "Sunset Valley": "83462",
    "Oakendale": "47329",
    "Willowbend": "52013",
    "Crescent Hollow": "69238",
    "Autumnville": "51479",
    "San Francisco": "94016",
}
VEHICLE_DISTANCE_PAIRS = [
    ("Rivermist", "Stonebrook"),
    ("Maplecrest", "Silverpine"),
    ("Shadowridge", "Sunset Valley"),
    ("Oakendale", "Willowbend"),
    ("Crescent Hollow", "Autumnville"),
    ("San Francisco", "Rivermist"),
    ("Silverpine", "Oakendale"),
    ("San Francisco", "Silverpine"),
    ("Stonebrook", "San Francisco"),
]

# --- vocabularies (none of these words is a BFCL test file name, person, tweet or ticket) -------------------------

_DIR_WORDS = ["orchard", "lantern", "harbor", "quarry", "meadow", "glacier", "canyon", "pavilion", "atelier"]
_DIR_WORDS += ["workbench", "greenhouse", "observatory", "boathouse", "granary", "foundry", "terrace"]
_FILE_STEMS = ["tidepool", "kestrel", "marigold", "basalt", "juniper", "sundial", "periwinkle", "cobblestone"]
_FILE_STEMS += ["wisteria", "quillpen", "driftwood", "saffron", "bramble", "lighthouse", "mosaic", "thistle"]
_FILE_EXTS = [".txt", ".md", ".csv", ".log", ".json", ".cfg"]
_SENTENCE_PARTS = [
    "the kestrel circled above the quarry",
    "saffron crates arrived at the granary",
    "tide tables were copied into the ledger",
    "juniper seedlings need watering twice weekly",
    "the sundial drifts four minutes each season",
    "basalt columns were surveyed on tuesday",
    "periwinkle paint ran short at the boathouse",
    "driftwood samples were labelled by length",
    "the foundry kiln reached nine hundred degrees",
    "wisteria cuttings rooted in the greenhouse",
    "mosaic tiles were sorted by shade",
    "thistle honey sold out at the market stall",
]
_FIRST_NAMES = ["Ottilie", "Bastian", "Marisol", "Leopold", "Ingrid", "Caspian", "Rosalind", "Thaddeus"]
_FIRST_NAMES += ["Wilhelmina", "Fergus", "Esperanza", "Anselm", "Philippa", "Ignatius", "Clementine", "Lysander"]
_LAST_NAMES = ["Hargreave", "Quennell", "Abernathy", "Vasquez-Orr", "Lindqvist", "Okonkwo", "Featherstone"]
_LAST_NAMES += ["Ravensworth", "Castellano", "Drummond", "Szabo", "Whitlock"]
_HANDLE_WORDS = ["moss", "ember", "quill", "otter", "fjord", "cinder", "heron", "pebble", "lark", "tansy"]
_TWEET_TEMPLATES = [
    "Spent the morning mapping {a} near the {b}.",
    "Small win today: the {a} project finally shipped to the {b} crew.",
    "Anyone else tracking {a} prices at the {b} this week?",
    "New notes on {a} are up, thanks to everyone at the {b}.",
    "Rainy evening, perfect for sketching {a} by the {b}.",
]
_MESSAGE_TEMPLATES = [
    "Can you bring the {a} sketches to the {b} tomorrow?",
    "The {a} delivery moved to the {b} dock.",
    "Reminder: {a} inventory closes at the {b} on friday.",
    "I left the {a} notes on the {b} shelf.",
]
_TICKET_TOPICS = [
    ("Badge reader offline", "The {a} entrance badge reader stopped accepting cards."),
    ("Projector flicker", "The projector in the {a} room flickers every few seconds."),
    ("Shared drive quota", "The {a} team folder hit its storage quota."),
    ("Printer jam", "The {a} printer jams on double-sided jobs."),
    ("VPN drops", "VPN sessions from the {a} office drop after ten minutes."),
    ("Calendar sync", "Room bookings for the {a} hall do not sync to calendars."),
]
_TICKET_STATUSES = ["Open", "In Progress", "Closed", "Resolved"]
# The environment's own vocabularies (part of the tool code, so shared with BFCL by necessity).
_KNOWN_SYMBOLS = {"AAPL", "GOOG", "TSLA", "MSFT", "NVDA", "ZETA", "ALPH", "OMEG", "QUAS", "NEPT", "SYNX", "AMZN"}
_OWN_SYMBOLS = ["KSTR", "BSLT", "JNPR", "SFRN", "WSTR", "THSL", "MRGD", "DRFT"]
_CARD_TYPES = ["Visa", "Mastercard", "Discover", "American Express"]
_TRAVEL_CLASSES = ["economy", "business", "first"]
_AIRPORT_ROUTES = [("SFO", "LAX"), ("JFK", "ORD"), ("LAX", "JFK"), ("ORD", "SFO"), ("BOS", "SEA"), ("SEA", "BOS")]


def _words(rng: random.Random, vocab: list[str], k: int) -> list[str]:
    return rng.sample(vocab, k=min(k, len(vocab)))


def _text(rng: random.Random, sentences: int) -> str:
    parts = _words(rng, _SENTENCE_PARTS, sentences)
    return " ".join(p[0].upper() + p[1:] + "." for p in parts)


def _file_tree(rng: random.Random, depth: int, min_files: int = 1) -> dict:
    contents: dict = {}
    for stem in _words(rng, _FILE_STEMS, rng.randint(min_files, 3)):
        name = f"{stem}_{rng.randint(10, 99)}{rng.choice(_FILE_EXTS)}"
        contents[name] = {"type": "file", "content": _text(rng, rng.randint(1, 3))}
    if depth > 0:
        for word in _words(rng, _DIR_WORDS, rng.randint(1, 2)):
            contents[f"{word}_{rng.choice(string.ascii_lowercase)}{rng.randint(1, 9)}"] = {
                "type": "directory",
                "contents": _file_tree(rng, depth - 1),
            }
    return contents


def gorilla_file_system(rng: random.Random) -> dict:
    root = f"{rng.choice(_HANDLE_WORDS)}_{rng.choice(_DIR_WORDS)}"
    contents = _file_tree(rng, depth=2, min_files=0)  # a top folder without files makes cd matter
    if rng.random() < 0.5:  # sometimes an empty folder, so mkdir/rmdir-style tools have something to do
        contents[f"{rng.choice(_DIR_WORDS)}_spare"] = {"type": "directory", "contents": {}}
    return {"root": {root: {"type": "directory", "contents": contents}}}


def math_api(rng: random.Random) -> dict:
    return {}


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)


def _handle(rng: random.Random) -> str:
    return f"{rng.choice(_HANDLE_WORDS)}_{rng.choice(_HANDLE_WORDS)}{rng.randint(10, 999)}"


def _password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(6)) + rng.choice("!@%&*") + str(rng.randint(10, 99))


def message_api(rng: random.Random) -> dict:
    names = _words(rng, _FIRST_NAMES, rng.randint(3, 5))
    base = rng.randint(100, 800)
    user_map = {name: f"USR{base + i:03d}" for i, name in enumerate(names)}
    ids = list(user_map.values())
    inbox = []
    for _ in range(rng.randint(2, 4)):
        text = rng.choice(_MESSAGE_TEMPLATES).format(a=rng.choice(_FILE_STEMS), b=rng.choice(_DIR_WORDS))
        inbox.append({rng.choice(ids[1:]): [text]})
    return {
        "random_seed": rng.randint(1, 10**6),
        "user_count": len(user_map),
        "user_map": user_map,
        "inbox": inbox,
        "message_count": len(inbox),
        "current_user": ids[0] if rng.random() < 0.5 else None,
    }


def twitter_api(rng: random.Random) -> dict:
    username = _handle(rng)
    tweets = {}
    for i in range(rng.randint(1, 4)):
        content = rng.choice(_TWEET_TEMPLATES).format(a=rng.choice(_FILE_STEMS), b=rng.choice(_DIR_WORDS))
        tags = [f"#{w}" for w in _words(rng, _HANDLE_WORDS, rng.randint(0, 2))]
        tweets[str(i)] = {"id": i, "username": username, "content": content, "tags": tags, "mentions": []}
    return {
        "username": username,
        "password": _password(rng),
        "authenticated": rng.random() < 0.3,
        "tweets": tweets,
        "comments": {},
        "retweets": {},
        "following_list": [_handle(rng) for _ in range(rng.randint(1, 3))],
        "tweet_counter": len(tweets),
    }


def ticket_api(rng: random.Random) -> dict:
    queue = []
    first_id = rng.randint(2000, 9000)
    for i, (title, description) in enumerate(_words(rng, _TICKET_TOPICS, rng.randint(1, 4))):
        queue.append(
            {
                "id": first_id + i,
                "title": title,
                "description": description.format(a=rng.choice(_DIR_WORDS)),
                "status": rng.choice(_TICKET_STATUSES),
                "priority": rng.randint(1, 5),
                "created_by": _handle(rng),
            }
        )
    return {
        "ticket_queue": queue,
        "ticket_counter": first_id + len(queue),
        "current_user": _handle(rng) if rng.random() < 0.5 else None,
    }


def _stock(rng: random.Random) -> dict:
    price = round(rng.uniform(15, 900), 2)
    return {
        "price": price,
        "percent_change": round(rng.uniform(-3, 3), 2),
        "volume": round(rng.uniform(0.3, 4.5), 3),
        "MA(5)": round(price * rng.uniform(0.97, 1.03), 2),
        "MA(20)": round(price * rng.uniform(0.94, 1.06), 2),
    }


def trading_bot(rng: random.Random) -> dict:
    symbols = _words(rng, sorted(_KNOWN_SYMBOLS), 5) + _words(rng, _OWN_SYMBOLS, 3)
    stocks = {s: _stock(rng) for s in symbols}
    first_order = rng.randint(30000, 90000)
    orders = {}
    for i in range(rng.randint(1, 3)):
        symbol = rng.choice(symbols)
        orders[first_order + i] = {
            "id": first_order + i,
            "order_type": rng.choice(["Buy", "Sell"]),
            "symbol": symbol,
            "price": round(stocks[symbol]["price"] * rng.uniform(0.95, 1.05), 2),
            "amount": rng.randint(1, 40),
            "status": rng.choice(["Completed", "Pending", "Open"]),
        }
    return {
        "random_seed": rng.randint(1, 10**6),
        "orders": orders,
        "account_info": {
            "account_id": rng.randint(20000, 99999),
            "balance": round(rng.uniform(500, 60000), 2),
            "binding_card": rng.randint(4 * 10**15, 5 * 10**15),
        },
        "authenticated": rng.random() < 0.4,
        "market_status": rng.choice(["Open", "Closed"]),
        "order_counter": first_order + len(orders),
        "stocks": stocks,
        "watch_list": _words(rng, symbols, rng.randint(0, 3)),
        "transaction_history": [],
    }


def travel_api(rng: random.Random) -> dict:
    first, last = _person(rng)
    cards = {}
    for _ in range(rng.randint(1, 3)):
        number = "-".join(f"{rng.randint(1000, 9999)}" for _ in range(4))
        cards[str(rng.randint(10**11, 10**12 - 1))] = {
            "card_number": number,
            "card_type": rng.choice(_CARD_TYPES),
            "expiration_date": f"{rng.randint(1, 12):02d}/{rng.randint(2031, 2039)}",
            "cvv": rng.randint(100, 999),
            "cardholder_name": f"{first} {last}",
            "balance": round(rng.uniform(800, 25000), 2),
        }
    bookings = {}
    card_ids = list(cards)
    for _ in range(rng.randint(0, 2)):
        frm, to = rng.choice(_AIRPORT_ROUTES)
        bookings[str(rng.randint(10**6, 10**7 - 1))] = {
            "card_id": rng.choice(card_ids),
            "travel_date": f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "travel_from": frm,
            "travel_to": to,
            "travel_class": rng.choice(_TRAVEL_CLASSES),
            "travel_cost": round(rng.uniform(150, 2400), 2),
            "transaction_id": str(rng.randint(10**7, 10**8 - 1)),
        }
    return {
        "random_seed": rng.randint(1, 10**6),
        "credit_card_list": cards,
        "booking_record": bookings,
        "access_token": None,
        "token_type": None,
        "token_expires_in": None,
        "token_scope": None,
        "user_first_name": first,
        "user_last_name": last,
        "budget_limit": round(rng.uniform(1000, 30000), 2) if rng.random() < 0.5 else None,
    }


def vehicle_control_api(rng: random.Random) -> dict:
    doors = {d: rng.choice(["locked", "unlocked"]) for d in ("driver", "passenger", "rear_left", "rear_right")}
    if rng.random() < 0.4:  # a parked car is often locked all round (and then only the brake stands before a start)
        doors = dict.fromkeys(doors, "locked")
    return {
        "random_seed": rng.randint(1, 10**6),
        "fuelLevel": round(rng.uniform(2, 48), 1),
        "batteryVoltage": round(rng.uniform(11.8, 13.2), 2),
        "engineState": "stopped",
        "doorStatus": doors,
        "acTemperature": round(rng.uniform(16, 29), 1),
        "fanSpeed": rng.randint(5, 95),
        "acMode": rng.choice(["auto", "cool", "heat", "defrost"]),
        "humidityLevel": round(rng.uniform(20, 80), 1),
        "headLightStatus": rng.choice(["on", "off"]),
        "parkingBrakeStatus": rng.choice(["engaged", "released"]),
        "parkingBrakeForce": 0.0,
        "slopeAngle": round(rng.uniform(0, 8), 1),
        "brakePedalStatus": "released",
        "brakePedalForce": 0.0,
        "distanceToNextVehicle": round(rng.uniform(8, 140), 1),
        "cruiseStatus": "inactive",
        "destination": "None",
        "frontLeftTirePressure": round(rng.uniform(26, 36), 1),
        "frontRightTirePressure": round(rng.uniform(26, 36), 1),
        "rearLeftTirePressure": round(rng.uniform(26, 36), 1),
        "rearRightTirePressure": round(rng.uniform(26, 36), 1),
    }


CLASS_GENERATORS = {
    "GorillaFileSystem": gorilla_file_system,
    "MathAPI": math_api,
    "MessageAPI": message_api,
    "TwitterAPI": twitter_api,
    "TicketAPI": ticket_api,
    "TradingBot": trading_bot,
    "TravelAPI": travel_api,
    "VehicleControlAPI": vehicle_control_api,
}


def generate_initial_config(class_name: str, rng: random.Random) -> dict:
    """A fresh initial config for one BFCL class, drawn from `rng` (same rng state → same config)."""
    try:
        generator = CLASS_GENERATORS[class_name]
    except KeyError:
        raise ValueError(f"no initial-state generator for {class_name!r}; known: {sorted(CLASS_GENERATORS)}") from None
    return generator(rng)


def generate_initial_configs(class_names: list[str], rng: random.Random) -> dict[str, dict]:
    """`{class_name: config}` for several classes (BFCL's `initial_config` layout), in the order given."""
    return {name: generate_initial_config(name, rng) for name in class_names}
