"""JSON Lines files (results, datasets, shards) read and written whatever they hold, with errors that name the file
and line; `jsonable`.

    for lineno, row in iter_jsonl(path):                   # a bad line raises JsonlError("<path>:<line>: <why>")
        ...
    for lineno, row in iter_jsonl(path, bad_lines="keep"):  # a bad line comes back as BadLine(why); reading goes on
        ...
    value = parse_json(text)                                # BadJson(why) on text Python's parser chokes on
    line = json_line(row)                                   # one line any JSON reader accepts, whatever `row` holds

What Python's own `json` chokes on, and what happens here instead (docs/bad-input.md):
- nesting deeper than MAX_DEPTH levels (`[[[...]]]`: the parser raises RecursionError past ~1,000, and every
  recursive consumer after it, from `copy.deepcopy` to the encoder, fails well before that): a bad line;
- an integer of more digits than `sys.get_int_max_str_digits()` (ValueError, not a JSONDecodeError): a bad line;
- bytes that are not UTF-8, a UTF-16 file: a bad line naming the byte; a UTF-8 byte-order mark is skipped;
- on writing, lone surrogates ("\\ud800", legal JSON that a model emits as half of an escaped emoji) cannot be
  encoded as UTF-8: `json_line` writes them as JSON escapes, the text `ensure_ascii` would write for them;
  NaN and Infinity, which JSON has no spelling for, become the strings "NaN", "Infinity", "-Infinity"; values
  JSON cannot hold become `str()` (`jsonable`). Reading keeps NaN/Infinity (BFCL's readers accept them).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from funreason.core.errors import UserError

# Deepest nesting a row may have. Real rows nest under 20 levels (a BFCL file-system tree is the deepest); the
# project's recursive consumers (deepcopy: ~3 frames a level; the chat template's tojson; `jsonable`) stay well
# inside Python's recursion limit of 1,000 at this depth.
MAX_DEPTH = 100
BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonlError(UserError):
    """A line of a JSON Lines file is not JSON that can be read; the message names the file and line."""


class BadJson(ValueError):
    """Text that is not JSON, or JSON that Python's parser chokes on; `str()` is one line saying why."""


@dataclass(frozen=True)
class BadLine:
    """A line `iter_jsonl(..., bad_lines="keep")` could not read, in place of its value."""

    why: str


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests lists/dicts more than `limit` levels deep (level by level: no recursion to run out of)."""
    level, depth = [value], 1
    while level:
        if depth > limit:
            return True
        level = [c for item in level for c in (item.values() if isinstance(item, dict) else item)
                 if isinstance(c, (dict, list))]  # fmt: skip
        depth += 1
    return False


def parse_json(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads(text)`, or BadJson with a one-line reason for anything Python's parser rejects or chokes on (see
    the module docstring). A leading UTF-8 byte-order mark is skipped."""
    if isinstance(text, (bytes, bytearray)):
        if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise BadJson("UTF-16 text (it starts with a UTF-16 byte-order mark); save the file as UTF-8")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadJson(f"not UTF-8 text (byte {e.start} of the line)") from None
    text = text.removeprefix(BOM)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadJson(f"not valid JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise BadJson(f"nested more than {max_depth} levels deep") from None
    except ValueError:  # an integer over sys.get_int_max_str_digits() (a ValueError, not a JSONDecodeError)
        digits = sys.get_int_max_str_digits()
        raise BadJson(f"holds an integer of more than {digits} digits (Python's int_max_str_digits)") from None
    except MemoryError:
        raise BadJson("too large to parse in memory") from None
    # Only text with that many brackets can nest that deep: most lines skip the walk.
    if isinstance(value, (dict, list)) and text.count("[") + text.count("{") > max_depth:
        if _depth_over(value, max_depth):
            raise BadJson(f"nested more than {max_depth} levels deep")
    return value


def iter_jsonl(
    path: str | Path, bad_lines: Literal["raise", "keep"] = "raise", max_depth: int = MAX_DEPTH
) -> Iterator[tuple[int, Any]]:
    """(1-based line number, parsed value) for every non-blank line. A line that cannot be read (see `parse_json`)
    raises JsonlError naming the file and line, or with `bad_lines="keep"` comes back as a `BadLine`."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                value = parse_json(raw, max_depth)
            except BadJson as e:
                if bad_lines == "keep":
                    yield lineno, BadLine(str(e))
                    continue
                raise JsonlError(f"{path}:{lineno}: {e}") from None
            yield lineno, value


def lone_surrogate(value: Any) -> str | None:
    """Why `value` (a string, or containers of them, keys included) holds text that cannot be encoded as UTF-8, or
    None. JSON's parser accepts an escaped lone surrogate ("\\ud800"); tokenizers and UTF-8 writers refuse it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return f"text holds a lone surrogate ({found.group()!r}), which cannot be encoded as UTF-8"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def jsonable(value: Any) -> Any:
    """BFCL's `make_json_serializable` (containers rebuilt, so the result is a snapshot; leaves JSON can't hold
    become `str()`), plus one safety BFCL lacks: dict keys JSON can't hold become `str()` too, so the value can
    always be written."""
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    try:
        json.dumps(value, ensure_ascii=False)
        return value
    except (TypeError, ValueError):
        return _text(value)


def _text(value: Any) -> str:
    try:
        return str(value)
    except ValueError:  # an int over sys.get_int_max_str_digits()
        return f"<an integer of {value.bit_length()} bits>"


def _key(key: Any) -> Any:
    return key if key is None or isinstance(key, (str, int, float, bool)) else _text(key)


def _strict(value: Any) -> Any:
    """`jsonable(value)` with NaN/Infinity as strings (JSON has no spelling for them) and huge ints as text."""
    if isinstance(value, dict):
        return {_strict(k) if isinstance(k, (float, int)) else _key(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return jsonable(value)


def _escape_surrogates(text: str) -> str:
    # Lone surrogates only ever sit inside JSON strings, where `\\udXXX` is their escape (what ensure_ascii writes)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_text(value: Any, indent: int | None = None) -> str:
    """`json.dumps(value, ensure_ascii=False)` as BFCL writes result and score files, made valid JSON, encodable as
    UTF-8, whatever `value` holds (see the module docstring); equal to it for every value that already was."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)
    except (TypeError, ValueError):
        text = json.dumps(_strict(value), ensure_ascii=False, allow_nan=False, indent=indent)
    return _escape_surrogates(text) if _SURROGATE.search(text) else text


def json_line(value: Any) -> str:
    """One line of a JSON Lines file, newline included (`json_text`)."""
    return json_text(value) + "\n"
