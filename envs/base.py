"""The `Environment` protocol: a stateful object whose public methods are the tools.

    from funreason.envs.base import create, public_state, snapshot, tool_docs, tool_names

    env = create(MyEnv, {"balance": 10})   # MyEnv() then env._load_scenario(deepcopy(config))
    tool_names(env)                          # ["deposit", "get_balance"]: public methods the class defines
    tool_docs(env)                           # BFCL-dialect docs ({"name", "description", "parameters", "response"})
    snapshot(env)                            # deep copy of the public state (what BFCL's state checker compares)
    copy_state({"A": env})                   # copy.deepcopy's result, several times faster on environment states

The convention is BFCL's own (its backend classes satisfy the protocol unchanged): the constructor takes no
arguments, `_load_scenario(config, long_context=False)` loads a config dict, every public (non-underscore)
attribute in `vars(instance)` is state, and every public method is a tool. Docs come from type hints plus Google
style docstrings (`Args:` / `Returns:` sections, `name (type): description` lines), unless the class supplies its
own list of docs in a `_tool_docs` attribute.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import re
import types
import typing
from typing import Any, Protocol, runtime_checkable

__all__ = ["Environment", "Frozen", "copy_state", "create", "public_state", "snapshot", "tool_docs", "tool_names"]


@runtime_checkable
class Environment(Protocol):
    """What the framework needs from a tool environment (BFCL's backend classes already fit).

    - `cls()` builds an empty instance; `_load_scenario(config, long_context=False)` fills it from a config dict
      (a class without `_load_scenario` is stateless, like BFCL's `MathAPI`).
    - Public methods are the tools; they take literal (JSON-like) arguments and return `str`, `dict` or anything
      `str()`-able (see `envs.dispatch.format_result`).
    - Public attributes in `vars(instance)` are the state compared by the checker; keep helpers private (`_x`).
    - Optional: `_api_description` (prefixed to each tool description, as BFCL does) and `_tool_docs` (a list of
      BFCL-dialect docs used instead of the generated ones).
    """

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None: ...


def create(cls: type, config: dict | None = None, long_context: bool = False) -> Any:
    """A fresh instance of `cls` loaded from a deep copy of `config` (so the caller's dict is never mutated)."""
    instance = cls()
    load = getattr(instance, "_load_scenario", None)
    if load is not None:
        load(copy.deepcopy(config or {}), long_context=long_context)
    return instance


def public_state(instance: Any) -> dict:
    """The attributes BFCL's state checker compares: `vars(instance)` keys that do not start with `_` (not copied)."""
    return {key: value for key, value in vars(instance).items() if not key.startswith("_")}


def snapshot(instance: Any) -> dict:
    """A deep copy of `public_state(instance)`, safe to keep while the instance keeps changing."""
    return copy.deepcopy(public_state(instance))


class Frozen:
    """A value frozen as it is now; `thaw()` returns a new deep copy of it each time.

    Environment states are trees of plain objects, dicts and lists (BFCL's file system is a tree of Directory/File
    objects), for which a pickle round trip builds the same copy as `copy.deepcopy` (both go through
    `__reduce_ex__`, keep shared references shared, and keep classes and functions by reference) at a fraction of
    the cost: `copy.deepcopy` is pure Python per object, pickle is C. Freezing is half of that cost and is paid once
    however often the value is thawed. What pickle cannot take (local classes, lambdas, locks) is deep-copied
    instead, so the result never differs from `copy.deepcopy`'s. (A class defining `__deepcopy__` but not matching
    pickling would differ; no environment class does.)
    """

    __slots__ = ("_value", "_pickled")

    def __init__(self, value: Any) -> None:
        try:
            self._value: Any = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._pickled = True
        except (pickle.PicklingError, TypeError, AttributeError):
            self._value = copy.deepcopy(value)
            self._pickled = False

    def thaw(self) -> Any:
        return pickle.loads(self._value) if self._pickled else copy.deepcopy(self._value)


def copy_state(value: Any) -> Any:
    """`copy.deepcopy(value)` for environment states (instances, `{class name: instance}`), faster; see `Frozen`."""
    return Frozen(value).thaw()


# class -> (fingerprint, names). Synthesis builds a Dispatcher per call, and `dir()` over a class is the slow part.
_TOOL_NAMES: dict[type, tuple[tuple[int, ...], tuple[str, ...]]] = {}


def tool_names(obj: Any) -> list[str]:
    """Public methods defined by the environment's class (or a base class other than `object`), sorted.

    Works on a class or an instance. Private (`_x`) and dunder names, static methods, properties, and callables
    stored in instance attributes are not tools. On BFCL's classes this is exactly the set BFCL's executor exposes
    (`inspect.getmembers(instance, inspect.ismethod)` minus names starting with `_`).
    """
    cls = obj if inspect.isclass(obj) else type(obj)
    # Cached per class (instance attributes never make tools); the fingerprint, the size of every namespace in
    # the MRO, makes a method added to or deleted from a class after its first use show up.
    fingerprint = tuple(len(vars(klass)) for klass in cls.__mro__)
    cached = _TOOL_NAMES.get(cls)
    if cached is not None and cached[0] == fingerprint:
        return list(cached[1])
    names = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
        if owner is None or owner is object:
            continue
        if isinstance(vars(owner)[name], (types.FunctionType, classmethod)):
            names.append(name)
    _TOOL_NAMES[cls] = (fingerprint, tuple(names))
    return names


# --- docs -------------------------------------------------------------------------------------------------------

_BFCL_TYPES = {str: "string", int: "integer", float: "float", bool: "boolean", dict: "dict", list: "array"}
_BFCL_TYPES.update({tuple: "tuple", set: "array", type(None): "any", Any: "any"})
_DOC_TYPE_WORDS = {"str": "string", "int": "integer", "float": "float", "bool": "boolean", "dict": "dict"}
_DOC_TYPE_WORDS.update({"list": "array", "tuple": "tuple", "any": "any"})
_DEFAULT_CASTS = {"string": str, "integer": int, "boolean": bool}  # as BFCL's compiler casts defaults
_ARG_LINE = re.compile(r"^-?\s*(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


def _same(value: Any) -> Any:
    return value


def _type_schema(hint: Any) -> dict:
    """BFCL-dialect schema for a type hint (`Optional[X]` → X; other unions and unknown types → `any`)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _type_schema(rest[0]) if len(rest) == 1 else {"type": "any"}
    if origin is typing.Literal:
        schema = _type_schema(type(args[0])) if args else {"type": "any"}
        return {**schema, "enum": list(args)}
    if origin in (list, set, frozenset, typing.Sequence):
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if origin is tuple:
        return {"type": "tuple"}
    if origin is dict:
        return {"type": "dict"}
    if hint is inspect.Parameter.empty:
        return {"type": "any"}
    return {"type": _BFCL_TYPES.get(hint, "any")}


def _doc_type_schema(text: str) -> dict:
    """BFCL schema for a docstring's `(type)` text, read as BFCL's compiler reads it (`List[str]` → array of
    string, `Optional[X]` → X, a real union → any; trailing `, optional` ignored)."""
    text = text.strip()
    if text.lower().endswith(", optional"):
        text = text[: -len(", optional")].strip()
    for wrapper in ("Optional[", "Union["):
        if text.startswith(wrapper) and text.endswith("]"):
            parts = [t.strip() for t in text[len(wrapper) : -1].split(",") if t.strip() not in ("None", "NoneType")]
            return _doc_type_schema(parts[0]) if len(parts) == 1 else {"type": "any"}
    inner = re.fullmatch(r"(?:List|list)\[(.+)\]", text)
    if inner:
        return {"type": "array", "items": _doc_type_schema(inner.group(1))}
    inner = re.fullmatch(r"(?:Tuple|tuple)\[(.+)\]", text)
    if inner:
        return {"type": "array", "items": [_doc_type_schema(t) for t in inner.group(1).split(",")]}
    if re.fullmatch(r"(?:Dict|dict)\[(.+),\s*(.+)\]", text):
        return {"type": "dict"}
    return {"type": _DOC_TYPE_WORDS.get(text.lower().removeprefix("typing."), "any")}


def _parse_docstring(doc: str) -> tuple[str, dict[str, dict], dict[str, dict]]:
    """Split a Google-style docstring into (summary, {arg: {"type"?, "description", "properties"?}}, {ret: ...})."""
    summary: list[str] = []
    sections: dict[str, dict[str, dict]] = {"args": {}, "returns": {}}
    section: str | None = None
    current: dict | None = None
    parent: dict | None = None
    base_indent = 0
    for raw in inspect.cleandoc(doc).splitlines():
        line = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        header = line.rstrip(":").lower()
        if line.endswith(":") and header in ("args", "arguments", "parameters", "returns", "return", "raises"):
            section = {"args": "args", "arguments": "args", "parameters": "args"}.get(header, header)
            section = "returns" if section == "return" else section
            current = parent = None
            base_indent = None
            continue
        if section is None:
            summary.append(line)  # blank lines kept: BFCL's compiled docs join them as double spaces
            continue
        if section not in sections:
            continue
        if not line:
            if section == "args" and current is not None:
                current["description"] += " "  # BFCL's compiler keeps this trailing space; match its docs
            continue
        base_indent = indent if base_indent is None else base_indent
        match = _ARG_LINE.match(line)
        if match and (indent <= base_indent or line.startswith("-")):
            name, type_text, desc = match.groups()
            entry = _doc_type_schema(type_text) if type_text else {"type": "any"}
            nested = indent > base_indent and parent is not None
            if section == "args" and not nested:  # BFCL's compiler drops these markers here only
                desc = desc.replace("[Required]", "").replace("[Optional]", "")
            entry["description"] = desc.strip()
            if nested:  # "- key (type): ..." under a dict/list entry
                holder = (
                    parent["items"] if parent["type"] == "array" and isinstance(parent.get("items"), dict) else parent
                )
                if parent["type"] == "array" and holder is parent:
                    holder = parent.setdefault("items", {})
                holder.setdefault("properties", {})[name] = entry
            else:
                sections[section][name] = entry
                parent = entry
            current = entry
        elif current is not None:
            current["description"] += f" {line}"
    return " ".join(summary).strip(), sections["args"], sections["returns"]


def _method_doc(func: Any, name: str, api_description: str | None) -> dict:
    summary, arg_docs, ret_docs = _parse_docstring(func.__doc__ or "")
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable forward references: fall back to the docstring's types
        hints = {}
    properties: dict[str, dict] = {}
    required: list[str] = []
    for pname, param in inspect.signature(func).parameters.items():
        if pname in ("self", "cls") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        given = arg_docs.get(pname, {})
        schema = (
            _type_schema(hints[pname])
            if pname in hints
            else {"type": "any", **{k: v for k, v in given.items() if k != "description"}}
        )
        prop = {**schema, "description": given.get("description", "")}
        if "properties" in given and prop["type"] == "dict":
            prop["properties"] = given["properties"]
        if param.default is param.empty:
            required.append(pname)
        else:
            try:
                prop["default"] = _DEFAULT_CASTS.get(prop["type"], _same)(param.default)
            except (TypeError, ValueError):  # e.g. int(None): keep the default as written
                prop["default"] = param.default
        properties[pname] = prop
    response = ret_docs
    description = f"{api_description} Tool description: {summary}" if api_description else summary
    return {
        "name": name,
        "description": description,
        "parameters": {"type": "dict", "properties": properties, "required": required},
        "response": {"type": "dict", "properties": response},
    }


def tool_docs(obj: Any) -> list[dict]:
    """BFCL-dialect docs for every tool of an environment class or instance, in `tool_names` order.

    A class (or instance) with a `_tool_docs` list gets a deep copy of it. Otherwise each doc is generated: the
    parameter types come from the type hints (the docstring's `(type)` when a hint is missing), descriptions from
    the `Args:` section, `required` from parameters without defaults, `response` from `Returns:` lines, and the
    description is prefixed with `_api_description` when the object has one (as BFCL's compiled docs are).
    """
    supplied = getattr(obj, "_tool_docs", None)
    if supplied is not None:
        return copy.deepcopy(list(supplied))
    cls = obj if inspect.isclass(obj) else type(obj)
    api_description = getattr(obj, "_api_description", None)
    api_description = api_description if isinstance(api_description, str) else None
    docs = []
    for name in tool_names(cls):
        func = inspect.getattr_static(cls, name)
        func = func.__func__ if isinstance(func, classmethod) else func
        docs.append(_method_doc(func, name, api_description))
    return docs
