"""Phase I: the directed sampler (FunReason-MT Eq. 1-2) and the argument sampler behind it.

    from funreason.synth.sampler import DirectedSampler
    sampler = DirectedSampler(graph, docs, rng)
    trace, failed, instances = sampler.run(instances, target="book_flight", length=5)

Decisions on the report's open knobs (docs/funreason-mt.md §12):
- Legality (Eq. 1): a tool is legal when it has no *hard* prerequisite, or when one of them was already called.
  Hard prerequisites are the probing edges into a tool that never succeeded in a fresh state (login, authenticate,
  startEngine); alternatives are OR-ed because probing finds several (any login variant enables the same tool).
- Eq. 2 exactly, with T_called the round's own calls (the report's per-trace set; legality still counts every
  earlier call, whose effects live on in the state): target legal and not reached → call it; target reached →
  wander uniformly over legal tools; otherwise argmin of hop distance to the target, ties broken by the seeded RNG;
  unreachable tools come last. A round short of its target goes on for up to EXTRA_STEPS more calls; the steps
  before the target that it does not need (detours) are dropped by replay; a repeated identical call is not a
  step (a request would ask for the same action twice), nor a second sign-in in one round (one set of credentials
  per service and request).
- Arguments (§12.5): for each parameter, candidates come from (1) earlier outputs of this trajectory whose field
  has the parameter's name (or OUTPUT_ALIASES; `id` for a `*_id`), or, for FROM_OUTPUTS parameters (zip codes),
  only from there, (2) the live state (existing files in the current directory, IDs, symbols, users...),
  (3) an environment's own `_value_pools()` hook ({"tool.param" or "param": [values]}), for non-BFCL classes,
  (4) value pools of enum-like constants read from the BFCL sources, (5) what the schema and description state
  (`constraint_of`: enums, "between 0 and 1", "from 1 to 5", "a multiple of 5", formats), (6) a typed fallback.
  Every candidate must satisfy the constraint. Optional parameters are filled with probability 0.3. Nothing is
  model-generated, so phase I is deterministic for a seed.
- Each call runs on a deep copy of the instances; a successful call's copy becomes the live state, a failed call
  (by the environment's conventions, `synth.trajectory.is_failure`) is dropped from the ground truth and leaves
  the state untouched (it is kept aside for the erroneous-response turns). Copies are pickle round trips of one
  snapshot per state (`envs.base.Frozen`), not `copy.deepcopy` per call: that was most of synthesis' CPU time.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from funreason.chat.calls import ToolCall
from funreason.envs.base import Frozen
from funreason.envs.dispatch import is_set_aside
from funreason.envs.states import VEHICLE_DISTANCE_PAIRS, VEHICLE_ZIPCODES
from funreason.synth.trajectory import Step, is_failure, run_call

# Constants of the BFCL tools (read from their sources/docstrings) and generic values for common parameter names.
VALUE_POOLS: dict[str, list[Any]] = {
    "ignitionMode": ["START", "STOP"],
    "activateParkingBrake.mode": ["engage", "release"],
    "setHeadlights.mode": ["on", "off", "auto"],
    "adjustClimateControl.mode": ["auto", "cool", "heat", "defrost"],
    "unit": ["celsius", "fahrenheit"],
    "option": ["fuel", "battery", "doors", "climate", "headlights", "parkingBrake", "brakePedal", "engine"],
    # every door, locked, is what starting the engine needs (startEngine's own rule): the likeliest request
    "door": [["driver"], ["passenger"], ["rear_left", "rear_right"]]
    + [["driver", "passenger", "rear_left", "rear_right"]] * 3,
    "lockDoors.unlock": [False, False, True],
    "city": sorted(VEHICLE_ZIPCODES),
    "destination": ["Willowbend", "Pinecrest", "Silverpine", "Rivermist"],
    "set_navigation.destination": ["14 Harbor Lane, Rivermist, CA", "902 Quarry Road, Stonebrook, OR"],
    "date_of_birth": ["1984-03-17", "1991-11-02", "1978-06-25", "1969-09-30"],
    "passport_number": ["US4829173", "US7730215", "US1958462", "US6604318"],
    "order_type": ["Buy", "Sell"],
    "sector": ["Technology", "Automobile"],
    "name": ["Apple", "Google", "Tesla", "Microsoft", "Nvidia", "Amazon", "Zeta Corp", "Alpha Tech"],
    "travel_class": ["economy", "business", "first"],
    "travel_from": ["SFO", "LAX", "JFK", "ORD", "BOS", "SEA"],
    "travel_to": ["LAX", "JFK", "SFO", "ORD", "SEA", "BOS"],
    "travel_date": ["2027-03-14", "2027-06-02", "2027-09-21", "2027-11-08"],
    "location": ["Rivermist", "Stonebrook", "Crescent Hollow", "San Francisco", "New York", "Chicago"],
    "base_currency": ["USD", "EUR", "GBP", "JPY"],
    "target_currency": ["EUR", "USD", "CAD", "JPY"],
    "insurance_type": ["comprehensive", "basic"],
    "grant_type": ["read_write", "read"],
    "status": ["Open", "In Progress", "Closed", "Resolved"],
    "priority": [1, 2, 3, 4, 5],
    "mode": ["l", "w", "c"],
    "si_unit_conversion.unit_in": ["km", "m", "cm", "mm"],
    "si_unit_conversion.unit_out": ["m", "cm", "mm", "km"],
    "lines": [1, 2, 3, 5],
    "temperature": [18.0, 21.5, 23.0, 25.0],
    "human_readable": [True, False],
    "a": [True, False],
    "path": ["."],
}
_WORDS = ["amber", "sprocket", "tundra", "lagoon", "velvet", "compass", "harvest", "ripple", "cobalt", "fable"]
_SENTENCES = [
    "Inventory of the amber crates is complete.",
    "Meet by the lagoon pier at noon.",
    "Velvet samples approved for the autumn line.",
    "Cobalt paint order confirmed for next week.",
    "Harvest figures look better than expected.",
    "Compass calibration finished without issues.",
]
# Where in the public state a parameter's values live: param -> (state key, "keys" | "values" | field name).
STATE_ALIASES: dict[str, list[tuple[str, str]]] = {
    "tweet_id": [("tweets", "keys")],
    "order_id": [("orders", "keys")],
    "card_id": [("credit_card_list", "keys")],
    "booking_id": [("booking_record", "keys")],
    "symbol": [("stocks", "keys")],
    "stock": [("stocks", "keys")],
    "stocks": [("stocks", "keys")],
    "user": [("user_map", "keys")],
    "user_id": [("user_map", "values")],
    "receiver_id": [("user_map", "values")],
    "ticket_id": [("ticket_queue", "id")],
    "username_to_unfollow": [("following_list", "items")],
    "keyword": [("tweets", "words"), ("inbox", "words")],
    "username": [("username", "self")],
    "password": [("password", "self")],
    "user_first_name": [("user_first_name", "self")],
    "user_last_name": [("user_last_name", "self")],
    "first_name": [("user_first_name", "self")],
    "last_name": [("user_last_name", "self")],
    "cardholder_name": [("user_first_name", "self")],
}
_FRESH = ["new", "draft", "notes", "backup", "summary", "todo"]


# Output fields that report how a call went ("Message sent to 'USR002' successfully."), never a value a later call
# should take: sending that text on as a message is nothing a user asks for.
STATUS_FIELDS = {"message"}


@dataclass
class ValuePools:
    """Candidate values per parameter: from earlier outputs and the live state (rebuilt before each call)."""

    outputs: dict[str, list[Any]] = field(default_factory=dict)

    def add_output(self, result: str) -> None:
        try:
            value = json.loads(result)
        except (json.JSONDecodeError, TypeError):
            return
        for key, leaf in _leaves(value):
            if key in STATUS_FIELDS:
                continue
            bucket = self.outputs.setdefault(key, [])
            if leaf not in bucket:
                bucket.append(leaf)


def _leaves(value: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, str(k))
    elif isinstance(value, list) and value and all(not isinstance(v, (dict, list)) for v in value):
        yield key, value
        for v in value:
            yield key, v
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, key)
    elif key:
        yield key, value


def _filesystem_values(instance: Any, tool: str, param: str, rng: random.Random) -> list[Any] | None:
    cwd = getattr(instance, "_current_dir", None)
    if cwd is None or not hasattr(cwd, "contents"):
        return None
    files = sorted(n for n, v in cwd.contents.items() if hasattr(v, "content"))
    dirs = sorted(n for n, v in cwd.contents.items() if hasattr(v, "contents"))
    fresh = f"{rng.choice(_FRESH)}_{rng.choice(_WORDS)}{rng.choice(['.txt', '.md', ''])}".rstrip(".")
    if (tool, param) == ("grep", "pattern"):  # only here: splitting every file's text is the costly part
        return sorted({w.strip(".,") for n in files for w in cwd.contents[n].content.split() if len(w) > 3})
    table = {
        ("cd", "folder"): dirs + ([".."] if getattr(cwd, "parent", None) is not None else []),
        ("mkdir", "dir_name"): [fresh.split(".")[0]],
        ("touch", "file_name"): [fresh if "." in fresh else fresh + ".txt"],
        ("echo", "file_name"): files + [fresh + ".txt"],
        ("rmdir", "dir_name"): [d for d in dirs if not cwd.contents[d].contents],
        ("mv", "source"): files + dirs,
        ("cp", "source"): files,
        ("mv", "destination"): dirs + [fresh + ".txt"],
        ("cp", "destination"): dirs + [fresh + ".txt"],
        ("find", "name"): [n[:4] for n in files + dirs],
        ("find", "path"): ["."] + dirs,
        ("echo", "content"): _SENTENCES,
    }
    if (tool, param) in table:
        return table[(tool, param)]
    if param in ("file_name", "file_name1", "file_name2", "source"):
        return files
    return None


def _state_values(instances: dict[str, Any], param: str) -> list[Any]:
    out: list[Any] = []
    for key, how in STATE_ALIASES.get(param, []):
        for instance in instances.values():
            state = vars(instance)
            if key not in state or state[key] is None:
                continue
            value = state[key]
            if how == "self":
                out.append(value)
            elif how == "keys" and isinstance(value, dict):
                out.extend(value.keys())
            elif how == "values" and isinstance(value, dict):
                out.extend(value.values())
            elif how == "words":
                text = json.dumps(value)
                out.extend(sorted({w for w in text.replace('"', " ").split() if w.isalpha() and len(w) > 4}))
            elif how == "items" and isinstance(value, list):
                out.extend(value)
            elif isinstance(value, list):
                out.extend(item[how] for item in value if isinstance(item, dict) and how in item)
    return out


def _typed_fallback(ptype: str, param: str, rng: random.Random, schema: dict | None = None) -> Any:
    if ptype == "integer":
        return rng.randint(1, 12)
    if ptype == "float":
        return float(rng.choice([2, 3.5, 7, 12.5, 20, 48, 100, 250]))
    if ptype == "boolean":
        return rng.random() < 0.5
    if ptype == "array":
        item_type = ((schema or {}).get("items") or {}).get("type", "float")
        if item_type == "string":
            return [f"{rng.choice(_WORDS)}_{rng.randint(10, 99)}" for _ in range(rng.randint(1, 2))]
        return [rng.choice([1.5, 2.0, 4.0, 7.5, 9.0, 12.0]) for _ in range(rng.randint(2, 4))]
    if ptype == "dict":
        return {"description": rng.choice(_SENTENCES)}
    if any(k in param for k in ("content", "message", "description", "resolution", "title", "messages")):
        return rng.choice(_SENTENCES)
    if "date" in param:
        return f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"{rng.choice(_WORDS)}_{rng.randint(10, 99)}"


def _fits(value: Any, ptype: str) -> bool:
    """Whether `value` suits a parameter of BFCL type `ptype` (after the coercions sample_args applies)."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if ptype == "integer":
        return is_int or (isinstance(value, str) and value.isdigit())
    if ptype in ("float", "number"):
        return is_int or isinstance(value, float)
    if ptype == "boolean":
        return isinstance(value, bool)
    if ptype == "string":
        return isinstance(value, str) or is_int
    if ptype in ("array", "tuple"):
        return isinstance(value, (list, tuple))
    if ptype in ("dict", "object"):
        return isinstance(value, dict)
    return True


# Parameters whose value only another tool's output can supply (the docs say what it is: "The zipcode of the first
# city."): without such an output the call cannot be made yet, and a value from anywhere else would only fail.
FROM_OUTPUTS = {"estimate_distance.cityA": "zipcode", "estimate_distance.cityB": "zipcode"}
# Parameters that only work together (read from MathAPI's conversion table): one of these pairs is drawn as a whole.
JOINT_VALUES = {
    "imperial_si_conversion": (
        ("unit_in", "unit_out"),
        [("in", "cm"), ("cm", "in"), ("ft", "m"), ("m", "ft"), ("miles", "km"), ("km", "miles"), ("lb", "kg")]
        + [("kg", "lb"), ("yd", "m"), ("celsius", "fahrenheit"), ("fahrenheit", "celsius")],
    )
}
# Output fields that hold what a differently named parameter takes (send_message's receiver is get_user_id's user).
OUTPUT_ALIASES = {"receiver_id": ("user_id",), "user_id": ("receiver_id",)}
_ZIP_PAIRS = [(VEHICLE_ZIPCODES[a], VEHICLE_ZIPCODES[b]) for a, b in VEHICLE_DISTANCE_PAIRS]
_NUMBER = r"(-?\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Constraint:
    """What a parameter's schema and description state about its values (BFCL writes most of it in prose)."""

    enum: tuple = ()
    low: float | None = None
    high: float | None = None
    multiple: float | None = None
    prefix: str = ""  # every item (array) or the value starts with it ("Tag name should start with #")
    pattern: str = ""  # a regular expression for formats: YYYY-MM-DD, MM/YYYY

    def admits(self, value: Any) -> bool:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if self.enum and item not in self.enum:
                return False
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if (self.low is not None and item < self.low) or (self.high is not None and item > self.high):
                    return False
                if self.multiple and item % self.multiple:
                    return False
            if isinstance(item, str):
                if self.prefix and not item.startswith(self.prefix):
                    return False
                if self.pattern and not re.fullmatch(self.pattern, item):
                    return False
        return True

    def candidates(self, ptype: str, rng: random.Random) -> list[Any]:
        """Values made from the constraint alone ([] when it says nothing a value could be made from)."""
        if self.enum:
            if ptype == "array":
                return [rng.sample(list(self.enum), k=rng.randint(1, len(self.enum)))]
            return list(self.enum)
        if self.low is not None and self.high is not None:
            if self.multiple:
                steps = int((self.high - self.low) // self.multiple)
                values = [self.low + self.multiple * rng.randint(1 if steps else 0, steps) for _ in range(3)]
            elif ptype == "integer":
                values = [rng.randint(int(self.low), int(self.high)) for _ in range(3)]
            else:  # a position or level: the full value is the one that does something (a fully pressed pedal)
                values = [self.low, (self.low + self.high) / 2, self.high, self.high]
            return [float(v) if ptype == "float" else int(v) if ptype == "integer" else v for v in values]
        if self.pattern == r"\d{4}-\d{2}-\d{2}":
            return [f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
        if self.pattern == r"\d{2}/\d{4}":
            return [f"{rng.randint(1, 12):02d}/{rng.randint(2030, 2036)}"]
        return []


@functools.lru_cache(maxsize=4096)
def _constraint(description: str, enum: tuple = ()) -> Constraint:
    text = description or ""
    values = list(enum)
    m = re.search(r"\[Enum\]:\s*(\[[^\]]*\]|[^.\n]*)", text)
    if m and not values:
        raw = m.group(1).strip()
        try:
            values = json.loads(raw) if raw.startswith("[") else [v.strip() for v in raw.split(",") if v.strip()]
        except json.JSONDecodeError:
            values = []
    low = high = multiple = None
    m = re.search(rf"\bbetween {_NUMBER}\b(?:\s*\([^)]*\))? and {_NUMBER}", text) or re.search(
        rf"\bfrom {_NUMBER} to {_NUMBER}\b", text
    )
    if m:
        low, high = float(m.group(1)), float(m.group(2))
    m = re.search(rf"multiple of {_NUMBER}", text)
    if m:
        multiple = float(m.group(1))
    m = re.search(r"should start with (\S)", text)
    prefix = m.group(1) if m else ""
    pattern = ""
    if "YYYY-MM-DD" in text:
        pattern = r"\d{4}-\d{2}-\d{2}"
    elif "MM/YYYY" in text:
        pattern = r"\d{2}/\d{4}"
    return Constraint(tuple(values), low, high, multiple, prefix, pattern)


def constraint_of(schema: dict) -> Constraint:
    """The constraint a parameter's schema (`enum`) and description (BFCL's `[Enum]: [...]`, "between 0 and 1",
    "from 1 to 5", "a multiple of 5", "should start with #", "in the format YYYY-MM-DD") state."""
    return _constraint(schema.get("description") or "", tuple(schema.get("enum") or ()))


def _from_outputs(tool: str, pools: ValuePools, args: dict, rng: random.Random) -> list[Any] | None:
    """Candidates of a FROM_OUTPUTS parameter: the field's values in earlier outputs, a pair the backend knows when
    this is the second of a pair; None when no earlier output holds the field."""
    values = [v for v in pools.outputs.get(FROM_OUTPUTS[tool], []) if isinstance(v, str)]
    if not values:
        return None
    if tool == "estimate_distance.cityB" and "cityA" in args:
        partners = [b for a, b in _ZIP_PAIRS if a == args["cityA"]] + [a for a, b in _ZIP_PAIRS if b == args["cityA"]]
        return [v for v in values if v in partners] or [v for v in values if v != args["cityA"]] or values
    if tool == "estimate_distance.cityA":
        paired = [v for v in values if any(v in pair and set(pair) <= set(values) for pair in _ZIP_PAIRS)]
        return paired or values
    return values


def _city_for_zipcode(pools: ValuePools) -> list[str]:
    """get_zipcode_based_on_city's city: a partner (for estimate_distance) of a zip code looked up already."""
    known = set(pools.outputs.get("zipcode", []))
    by_zip = {z: c for c, z in VEHICLE_ZIPCODES.items()}
    partners = [by_zip[b] for a, b in _ZIP_PAIRS if a in known and b not in known]
    partners += [by_zip[a] for a, b in _ZIP_PAIRS if b in known and a not in known]
    return partners


def sample_args(
    doc: dict, instances: dict[str, Any], pools: ValuePools, rng: random.Random, sources: dict | None = None
) -> dict | None:
    """Arguments for one call of `doc`, or None when a required parameter has no candidate yet (nothing in the live
    state, or a value only an earlier output can supply). Every value respects what the parameter's schema and
    description state (`constraint_of`). `sources`, when given, receives `{param: "output"}` for values drawn from
    earlier outputs (how probing tells a value flow from a coincidence)."""
    tool = doc["name"]
    params = doc.get("parameters", {}).get("properties", {})
    required = set(doc.get("parameters", {}).get("required", []))
    args: dict[str, Any] = {}
    for param, schema in params.items():
        if param not in required and rng.random() >= 0.3:
            continue
        ptype = schema.get("type", "string")
        rule = constraint_of(schema)
        if f"{tool}.{param}" in FROM_OUTPUTS:
            candidates = _from_outputs(f"{tool}.{param}", pools, args, rng)
            if candidates is None:
                return None
            args[param] = rng.choice(candidates)
            if sources is not None:
                sources[param] = "output"
            continue
        candidates: list[Any] = []
        field_name = next((f for f in (param, *OUTPUT_ALIASES.get(param, ())) if f in pools.outputs), None)
        if param.endswith("_id") and field_name is None and "id" in pools.outputs:
            field_name = "id"  # post_tweet's `id` is the tweet_id comment() takes
        if field_name is not None and rng.random() < 0.8:
            candidates = [v for v in pools.outputs[field_name] if not isinstance(v, (dict, list)) or ptype == "array"]
            candidates = [v for v in candidates if _fits(v, ptype) and rule.admits(v)]
            if candidates and sources is not None:
                sources[param] = "output"
        if not candidates and (tool, param) == ("get_zipcode_based_on_city", "city"):
            candidates = _city_for_zipcode(pools)
        if not candidates:
            for instance in instances.values():
                hook = getattr(instance, "_value_pools", None)
                if hook is not None:
                    candidates = list(hook().get(f"{tool}.{param}", hook().get(param, [])))
        if not candidates:
            for instance in instances.values():
                found = _filesystem_values(instance, tool, param, rng)
                if found is not None:
                    candidates = found
                    if not found and param in required:
                        return None
        if not candidates:
            candidates = _state_values(instances, param)
            if ptype == "array" and candidates and not isinstance(candidates[0], list):
                candidates = [rng.sample(candidates, k=min(len(candidates), rng.randint(1, 3)))]
        if not candidates:
            candidates = list(VALUE_POOLS.get(f"{tool}.{param}") or VALUE_POOLS.get(param, []))
        # Pools are keyed by parameter name only, so an earlier output or a state field with the same name may hold
        # another type (a bool `a` feeding a float `a`): keep only values the schema and the description accept.
        candidates = [v for v in candidates if _fits(v, ptype) and rule.admits(v)]
        if not candidates:
            candidates = [v for v in rule.candidates(ptype, rng) if _fits(v, ptype)]
        value = rng.choice(candidates) if candidates else _typed_fallback(ptype, param, rng, schema)
        if rule.prefix and isinstance(value, list):
            value = [v if not isinstance(v, str) or v.startswith(rule.prefix) else rule.prefix + v for v in value]
        if ptype == "integer" and isinstance(value, str) and value.isdigit():
            value = int(value)
        elif ptype == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif ptype == "string" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        args[param] = copy.deepcopy(value)
    if tool in JOINT_VALUES:
        names, pairs = JOINT_VALUES[tool]
        args.update(zip(names, rng.choice(pairs)))
    return args


def attempt(
    doc: dict,
    instances: dict[str, Any],
    pools: ValuePools,
    rng: random.Random,
    tries: int = 2,
    frozen: Frozen | None = None,
    sources: dict | None = None,
) -> tuple[Step | None, list[tuple[Step, dict]], dict[str, Any]]:
    """Try up to `tries` argument samples of `doc`. Returns (successful step or None, failed steps with the
    instances they ran on, the live instances after the call: the successful copy, or the untouched input).

    Each try runs on its own copy of `instances`, thawed from one snapshot (`frozen`, when the caller already has
    `Frozen(instances)`): `instances` itself is never touched, and nothing a call leaves behind (such as a method's
    default list stored into the state) can leak into the next call's state. `sources` receives the successful
    try's `{param: "output"}` (see sample_args).
    """
    failed: list[tuple[Step, dict]] = []
    if is_set_aside(instances, doc["name"]):  # it kept timing out (envs.dispatch): left out, never called again
        return None, failed, instances
    frozen = frozen or Frozen(instances)
    for _ in range(tries):
        if sources is not None:
            sources.clear()
        args = sample_args(doc, instances, pools, rng, sources)
        if args is None:
            break
        call = ToolCall(doc["name"], args)
        work = frozen.thaw()
        result = run_call(work, call)
        step = Step(call, result)
        if is_failure(result, doc["name"]):
            failed.append((step, work))
            continue
        return step, failed, work
    return None, failed, instances


# A round whose M calls end on the way to the target goes on for up to this many more (M = 1 with a target that
# needs a login first would otherwise never reach it).
EXTRA_STEPS = 3


class DirectedSampler:
    """Eq. 1-2 over an ApiGraph: walk M legal calls, steering toward a target tool, on live instances."""

    def __init__(self, graph: Any, docs: list[dict], rng: random.Random, exclude: Iterable[str] = ()):
        self.graph = graph
        excluded = set(exclude)
        self.docs = {d["name"]: d for d in docs if d["name"] not in excluded}
        self.rng = rng

    def legal(self, called: set[str]) -> list[str]:
        return [t for t in self.docs if self.graph.is_legal(t, called)]

    def choose(self, target: str, called: set[str], blocked: set[str], reached: set[str] | None = None) -> str | None:
        """Eq. 2. `called` decides legality (Eq. 1); `reached` (default: `called`) is this round's T_called, which
        decides whether the target is done."""
        legal = [t for t in self.legal(called) if t not in blocked]
        if not legal:
            return None
        if target in (called if reached is None else reached):
            return self.rng.choice(legal)
        if target in legal:
            return target
        best = min(self.graph.distance(t, target) for t in legal)
        return self.rng.choice([t for t in legal if self.graph.distance(t, target) == best])

    def run(
        self,
        instances: dict[str, Any],
        target: str,
        length: int,
        called: set[str] | None = None,
        pools: ValuePools | None = None,
        tries: int = 2,
    ) -> tuple[list[Step], list[tuple[Step, dict]], dict[str, Any]]:
        """Sample up to `length` successful calls, `tries` argument samples per chosen tool. `called` (tools called
        earlier in the trajectory) counts for legality only: their effects live on in the state (a login holds), but
        T_called of Eq. 2 is this round's own calls, as the report defines it per single-turn trace, so a target
        called in an earlier round is still steered to. `instances` is not changed. Returns (trace, failed attempts
        with their pre-call state, live instances after the trace)."""
        called = set(called or ())
        reached: set[str] = set()
        start = Frozen(instances)
        pools = pools or ValuePools()
        trace: list[Step] = []
        failures: list[tuple[Step, dict]] = []
        blocked: set[str] = set()  # tools that failed with every argument sample at the current state
        frozen = None  # snapshot of `instances`, reused by every attempt until a call succeeds
        for _ in range((length + EXTRA_STEPS) * 3):
            if len(trace) >= length and (target in reached or len(trace) >= length + EXTRA_STEPS):
                break
            tool = self.choose(target, called, blocked, reached)
            if tool is None:
                break
            before = instances
            frozen = frozen or Frozen(instances)
            step, failed, instances = attempt(self.docs[tool], instances, pools, self.rng, tries, frozen)
            failures.extend((f, before) for f, _ in failed)
            if step is not None and any(s.call == step.call or _second_sign_in(s.name, step.name) for s in trace):
                step, instances = None, before  # the same action twice, or a second sign-in: no request asks that
            if step is None:
                blocked.add(tool)
                continue
            frozen = None
            blocked.clear()
            trace.append(step)
            called.add(tool)
            reached.add(tool)
            pools.add_output(step.result)
        if target in reached:
            trace, instances = _without_detours(start, trace, target, instances)
        return trace, failures, instances


_SIGN_IN = re.compile(r"login|authenticate")


def _second_sign_in(earlier: str, tool: str) -> bool:
    return earlier == tool and _SIGN_IN.search(tool) is not None


def _without_detours(start: Frozen, trace: list[Step], target: str, live: dict) -> tuple[list[Step], dict]:
    """Drop the steps before the target that it does not need: a step goes when the trace without it, replayed
    from the round's start, still succeeds everywhere and gives the target and every step after it the same result
    (pressing the brake halfway before pressing it fully, unlocking a door that a later call locks). The kept steps
    take the results of that replay. Eq. 2 walks toward the target by graph distance with sampled arguments, so it
    takes such detours; data that keeps them teaches a model to make them."""
    first = next(i for i, s in enumerate(trace) if s.name == target)
    for i in reversed(range(first)):
        rest = trace[:i] + trace[i + 1 :]
        work = start.thaw()
        results = [run_call(work, s.call) for s in rest]
        if any(is_failure(r, s.name) for r, s in zip(results, rest)):
            continue
        if results[first - 1 :] == [s.result for s in trace[first:]]:
            trace, live, first = [Step(s.call, r) for s, r in zip(rest, results)], work, first - 1
    return trace, live
