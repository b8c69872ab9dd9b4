"""Typed config sections built from plain dicts, with errors a person can act on.

Every config in the project is a dataclass whose fields carry `metadata={"help": ...}`. `build(cls, data, where)`
turns a YAML mapping into an instance and rejects, before anything heavy is loaded:
  - an unknown key (naming the key, the section, the file, and the closest valid key),
  - a value of the wrong type,
  - a missing required key (a field without a default).

A section may also accept the fields of a third-party dataclass verbatim (e.g. any TRL `SFTConfig` field in the
`sft` section) by declaring `passthrough = "module:ClassName"` as a class attribute and a field named `extra`
(a dict); such keys are type-checked against that class and collected in `extra`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
import types
from dataclasses import MISSING, dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from funreason.core.errors import RecipeError

_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class Where:
    """Where a value came from, for error messages: the file and the dotted section path."""

    file: str
    path: str = ""

    def child(self, key: str | int) -> Where:
        part = f"[{key}]" if isinstance(key, int) else str(key)
        if not self.path:
            return Where(self.file, part)
        return Where(self.file, f"{self.path}{part}" if isinstance(key, int) else f"{self.path}.{part}")

    def __str__(self) -> str:
        return f"'{self.path or '<top level>'}' in {self.file}"


def field_help(cls: type, name: str) -> str:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("help", "")
    return ""


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin in (list, tuple):
        args = get_args(tp)
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        args = get_args(tp)
        return f"mapping of {_type_name(args[1])}" if args else "mapping"
    if dataclasses.is_dataclass(tp):
        return f"mapping ({tp.__name__})"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: Where) -> Any:
    """Check `value` against the type hint `tp` and return it converted (nested dataclasses built)."""
    if tp is Any or tp is object:
        return value
    origin = get_origin(tp)
    if origin is Literal:
        if value in get_args(tp):
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in get_args(tp)], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RecipeError(f"{where}: {value!r} is not one of {_type_name(tp)}{hint}")
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except RecipeError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        raise RecipeError(f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a mapping ({tp.__name__}), got {type(value).__name__} {value!r}")
        return build(tp, value, where)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        args = get_args(tp)
        if not args or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            elem = args[0] if args else Any
            out = [_convert(v, elem, where.child(i)) for i, v in enumerate(value)]
        elif origin is tuple:
            if len(value) != len(args):
                raise RecipeError(f"{where}: expected {len(args)} items, got {len(value)}")
            out = [_convert(v, a, where.child(i)) for i, (v, a) in enumerate(zip(value, args))]
        else:
            out = [_convert(v, args[0], where.child(i)) for i, v in enumerate(value)]
        return tuple(out) if (origin is tuple or tp is tuple) else out
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        args = get_args(tp)
        if not args:
            return dict(value)
        return {k: _convert(v, args[1], where.child(str(k))) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise RecipeError(f"{where}: expected true or false, got {type(value).__name__} {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise RecipeError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads `3e-3` (no dot) as a string; accept what is plainly a number.
        if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
            return float(value)
        raise RecipeError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise RecipeError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    # Types we cannot check simply (TRL's exotic unions, enums): accept and let the library validate.
    return value


def _passthrough_fields(cls: type) -> dict[str, Any]:
    spec = getattr(cls, "passthrough", None)
    if not spec:
        return {}
    module_name, _, class_name = spec.partition(":")
    target = getattr(importlib.import_module(module_name), class_name)
    try:
        hints = get_type_hints(target)
    except Exception:  # some libraries use forward refs we cannot resolve; fall back to unchecked
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(target) if f.init}


def build(cls: type, data: dict | None, where: Where) -> Any:
    """Build dataclass `cls` from `data`, validating keys and types. Raises RecipeError naming the problem."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a mapping, got {type(data).__name__} {data!r}")
    hints = get_type_hints(cls)
    own = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "extra"}
    extra_types = _passthrough_fields(cls)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise RecipeError(f"{where}: keys must be strings, got {key!r}")
        if key in own:
            kwargs[key] = _convert(value, hints[key], where.child(key))
        elif key in extra_types:
            extra[key] = _convert(value, extra_types[key], where.child(key))
        else:
            valid = sorted(set(own) | set(extra_types))
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(own))}"
            if key in getattr(cls, "moved_keys", {}):  # a key another section now owns
                hint = f"; it moved to '{cls.moved_keys[key]}'"
            section = where.path or "<top level>"
            raise RecipeError(f"unknown key '{key}' in section '{section}' of {where.file}{hint}")
    for name, f in own.items():
        if name not in kwargs and f.default is MISSING and f.default_factory is MISSING:
            help_text = f.metadata.get("help", "")
            raise RecipeError(
                f"missing required key '{name}' in section '{where.path or '<top level>'}' of {where.file}"
                + (f" ({help_text})" if help_text else "")
            )
    if extra_types:
        kwargs["extra"] = extra
    return cls(**kwargs)


def to_dict(obj: Any) -> Any:
    """A plain-YAML view of a config (dataclasses to dicts, tuples to lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.name == "extra" and isinstance(value, dict):
                out.update({k: to_dict(v) for k, v in value.items()})
            else:
                out[f.name] = to_dict(value)
        return out
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) rows for the configuration reference in the README."""
    rows = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "extra":
            spec = getattr(cls, "passthrough", "")
            rows.append((f"{prefix}*", "any", "", f"any field of `{spec.replace(':', '.')}`"))
            continue
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        inner = [a for a in get_args(tp) if a is not type(None)] if get_origin(tp) in (Union, types.UnionType) else []
        sub = inner[0] if len(inner) == 1 and dataclasses.is_dataclass(inner[0]) else tp
        if dataclasses.is_dataclass(sub):
            rows.append((key, "section", "", f.metadata.get("help", "")))
            rows.extend(describe(sub, key + "."))
            continue
        if f.default is not MISSING:
            default = repr(f.default)
        elif f.default_factory is not MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        rows.append((key, _type_name(tp), default, f.metadata.get("help", "")))
    return rows


__all__ = ["Where", "build", "to_dict", "describe", "field_help"]
