"""SFT examples from conversations: read datasets, mix them, render every example through `chat.render`.

    from funreason.train.data import build_sft_dataset
    ds = build_sft_dataset(tokenizer, [DatasetSpec("runs/x/synth/dataset")], ChatOptions(), layout="per_turn")
    ds.column_names   # ['input_ids', 'assistant_masks'] -- pre-tokenized, so SFTTrainer does not re-render

Layouts:
  - per_turn: one example per assistant message k, `render_example(messages[:k+1], train="last")`: the history is
    rendered exactly as inference will see it (the renderer applies the recipe's `history_reasoning`), and only
    message k is trained. This is FunReason-MT's choice (paper §5.1).
  - full: one example per conversation, `render_example(messages, train="all")`: every assistant message trained.

SFTTrainer (TRL 1.16) recognises pre-tokenized data by its `input_ids` column and folds `assistant_masks` into
`labels` (-100 where the mask is 0); packing (bfd, padding-free) then works on `input_ids` + `labels`.

Inputs: a `datasets.save_to_disk` directory (what `funreason synth` writes), or a .jsonl / .json / .parquet file,
with a `messages` column (OpenAI-style, see chat/messages.py) and an optional `tools` column (OpenAI tools or BFCL
docs). Every row's tools are offered as `chat.tools.offered_docs` decides (BFCL's Python hint on each description),
the one function RL tasks and eval entries go through too, so an SFT prompt shows the tool docs eval shows for the
same tools. A row whose `metadata.missed_function` ({user turn: [tool names]}, BFCL's miss_func, as synth
writes it) holds tools out is rendered as eval renders BFCL's miss_func entries (`chat.holdout`): those tools are
absent from every prompt before that turn, and that turn's user message is eval's holdout message (in hermes with
`chat.hermes_holdout: tools`, the tool list grows there; the full layout then trains each stage of tools in its own
example). Strings holding JSON are decoded (`messages`, `tools`, tool-call `arguments`), which covers sets that store
them as JSON text, such as xLAM-style exports. JSON files are read with `json` rather than Arrow so that differing
tool-argument keys are never unified into null-filled columns (docs/stack.md §5).

Common conventions of exported sets are read, not refused: OpenAI content parts (`[{"type": "text", "text": ...}]`,
text parts joined by newlines as vLLM joins them), the legacy `function` role (a tool result) and `function_call` (an
assistant call), tool-call `arguments` as JSON text (an empty string for none).

One rule for rows that cannot be trained on, whatever the reason (docs/bad-input.md): the row is dropped, counted by
reason and named (source, row, why) in the report (`build_sft_dataset(report=...)`, which train/sft.py writes into
train_summary.json), one warning line per reason is printed, and training goes on. `build_sft_dataset` refuses, in
one line and before train/sft.py loads the model, only when the dropped share of rows passes
`max_dropped_fraction` (sft.max_dropped_fraction) or nothing is left. Reasons (`DROP_REASONS`): a line that is not
JSON Python can read, no conversation, content that is not text or cannot be encoded, tool calls whose arguments are
not JSON, name an undeclared tool or do not fit its schema (`argument_problem`: the whole row goes, since later
turns build on that call), a tool result with no call before it, no assistant turn to train on, a chat control
token, a `missed_function` that does not fit, a row the renderer cannot render. A row longer than `max_length` in
every example is dropped with the reason `over_max_length`; in the per_turn layout a row that keeps its shorter
prefixes is not dropped, but its examples over `max_length` are counted (TRL would cut them without a word), and
the later, longer prefixes are never rendered.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from funreason.chat.holdout import HoldoutError, holdout_conversation
from funreason.chat.messages import MessageError, merge_tool_results, validate_messages
from funreason.chat.render import render_example
from funreason.chat.schemas import tool_names
from funreason.chat.tools import offered_docs
from funreason.core.errors import UserError
from funreason.core.jsonl import MAX_DEPTH, BadJson, BadLine, iter_jsonl, lone_surrogate, parse_json
from funreason.core.sections.chat import ChatOptions
from funreason.core.sections.train import DatasetSpec
from tqdm.auto import tqdm


class DatasetError(UserError):
    """A training dataset cannot be used; the message names the dataset path and the row."""


class RowError(DatasetError):
    """One row cannot be trained on; `reason` is its kind (a key of DROP_REASONS), the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# Why a row is dropped, by kind: the keys of train_summary.json's `dropped.by_reason`.
DROP_REASONS = {
    "unreadable": "a line that is not JSON Python can read (invalid, not UTF-8, nested too deep, a huge integer)",
    "not_a_conversation": "no non-empty `messages` list (or `messages`/`tools` text that is not JSON)",
    "non_text_content": "a content part that is not text (an image, audio, a file)",
    "unencodable_text": "text that cannot be encoded as UTF-8 (a lone surrogate)",
    "arguments_not_json": "tool-call arguments that are neither an object nor JSON text of one",
    "invalid_tools": "`tools` that are not tool schemas (a number, parameters as text, no name)",
    "undeclared_tool": "a call to a tool the row does not declare",
    "arguments_do_not_fit_schema": "a call whose arguments do not fit its tool's schema",
    "tool_result_without_call": "a tool result with no assistant call before it",
    "no_assistant_turn": "no assistant message to train on at the end",
    "control_token": "a chat control token (<|im_start|>...) in the text",
    "invalid_message": "another malformed message (role, content type, tool-call shape)",
    "missed_function": "a `metadata.missed_function` that does not fit the conversation",
    "render_failed": "the chat template or tokenizer failed on it",
    "over_max_length": "every example longer than max_length tokens",
    "unexpected": "an error no check above names (reported with its type)",
}
# chat.messages.MessageError texts -> reason; any other MessageError is "invalid_message"
_MESSAGE_REASONS = {
    "not among the declared tools": "undeclared_tool",
    "a tool result must follow": "tool_result_without_call",
    "there is no assistant turn": "no_assistant_turn",
    "control token": "control_token",
    "function.arguments must be a dict": "arguments_not_json",
    "messages must be a non-empty list": "not_a_conversation",
}
MAX_NAMED = 100  # dropped rows named one by one in the report (all are counted)


# BFCL-dialect and JSON-schema type names -> the Python types a JSON-decoded argument may have
_ARG_TYPES = {
    "string": (str,),
    "integer": (int,),
    "float": (int, float),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "tuple": (list, tuple),
    "dict": (dict,),
    "object": (dict,),
    "null": (type(None),),
}


def _type_ok(value: Any, schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    names = schema.get("type")
    names = names if isinstance(names, list) else [names]
    allowed = [_ARG_TYPES.get(n) for n in names]
    if any(a is None for a in allowed):  # "any", missing or unknown type names: anything goes
        return True
    for types in allowed:
        if isinstance(value, bool) and bool not in types:
            continue  # True is an int in Python, never in a schema
        if isinstance(value, types):
            return True
    return False


def argument_problem(messages: list[dict], docs: list[dict] | None) -> str | None:
    """What is wrong with the first assistant tool call whose arguments do not fit its tool's schema in `docs`
    (BFCL-dialect): an unknown argument name, a missing required one, or a value of the wrong type (None is
    accepted for an optional argument). None when every call fits. Names are checked by `validate_messages`."""
    by_name = {d.get("name"): d for d in docs or [] if isinstance(d, dict)}
    for i, message in enumerate(messages):
        for call in message.get("tool_calls") or [] if message.get("role") == "assistant" else []:
            fn = call.get("function", call) if isinstance(call, dict) else {}
            name, args = fn.get("name"), fn.get("arguments")
            doc = by_name.get(name)
            if doc is None or not isinstance(args, dict):
                continue
            params = doc.get("parameters") or {}
            props = params.get("properties") or {}
            for key, value in args.items():
                if key not in props:
                    return f"message {i}: {name}() has no argument {key!r} (its arguments: {', '.join(props)})"
                required = key in (params.get("required") or [])
                if not (value is None and not required) and not _type_ok(value, props[key]):
                    wanted = props[key].get("type") if isinstance(props[key], dict) else "?"
                    return f"message {i}: {name}({key}=...) is {type(value).__name__}, the schema says {wanted}"
            missing = [k for k in params.get("required") or [] if k not in args]
            if missing:
                return f"message {i}: {name}() lacks required argument(s) {', '.join(missing)}"
    return None


# --- reading ------------------------------------------------------------------------------------------------
def read_rows(path: str | Path) -> list[dict]:
    """All rows of one dataset as plain dicts."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"training dataset not found: {p}")
    if p.is_dir():
        from datasets import DatasetDict, load_from_disk  # deferred: heavy (pyarrow, pandas); JSON rows skip it

        try:
            ds = load_from_disk(str(p))
        except FileNotFoundError as e:
            raise DatasetError(f"{p} is not a dataset saved with datasets.save_to_disk: {e}") from None
        if isinstance(ds, DatasetDict):
            if "train" not in ds:
                raise DatasetError(f"{p} is a DatasetDict without a 'train' split (splits: {', '.join(ds)})")
            ds = ds["train"]
        return ds.to_list()
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        # A line that cannot be read is a row that cannot be trained on: kept in place (row numbers hold) as a BadLine
        return [row if not isinstance(row, BadLine) else BadLine(f"line {n}: {row.why}") for n, row in iter_jsonl(
            p, bad_lines="keep")]  # fmt: skip
    if suffix == ".json":
        try:
            data = parse_json(p.read_bytes(), max_depth=MAX_DEPTH + 1)  # + the list of rows
        except BadJson as e:
            raise DatasetError(f"{p}: {e}") from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise DatasetError(f"{p}: expected a JSON list of rows, got {type(data).__name__}")
        return data
    if suffix == ".parquet":
        import pyarrow.parquet as pq  # deferred: heavy, and only .parquet inputs need it

        return pq.read_table(p).to_pylist()
    raise DatasetError(f"{p}: unsupported dataset format (use a save_to_disk dir, .jsonl, .json or .parquet)")


def _decoded(value: Any, what: str, where: str, reason: str = "not_a_conversation") -> Any:
    if isinstance(value, str):
        try:
            return parse_json(value)
        except BadJson as e:
            raise RowError(reason, f"{where}: {what} is a string but {e}") from None
    return value


def _text_content(content: list, i: int, where: str) -> str:
    """OpenAI content parts as one text (text parts joined by newlines, as vLLM joins them)."""
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else type(part).__name__
        if kind != "text" or not isinstance(part.get("text"), str):
            raise RowError("non_text_content", f"{where}: message {i}: a content part of type {kind!r} is not text")
        texts.append(part["text"])
    return "\n".join(texts)


def conventional_messages(messages: list, where: str) -> list:
    """The conventions of exported sets in this project's form: content parts as text, the legacy `function` role
    as a tool result and `function_call` as a tool call, tool-call `arguments` JSON text decoded ("" = none)."""
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            out.append(message)
            continue
        message = dict(message)
        if isinstance(message.get("content"), list):
            message["content"] = _text_content(message["content"], i, where)
        if message.get("role") == "function":  # OpenAI's legacy tool result: {"role": "function", "name", "content"}
            message["role"] = "tool"
        call = message.pop("function_call", None)
        if message.get("role") == "assistant" and isinstance(call, dict) and not message.get("tool_calls"):
            message["tool_calls"] = [{"type": "function", "function": call}]
        out.append(_decode_calls(message, where))
    return out


def normalize_row(row: Any, where: str) -> tuple[list[dict], list[dict] | None]:
    """(messages, tools) of one row, conventions read (`conventional_messages`), JSON strings decoded and validated,
    tools as the prompt offers them (`chat.tools.offered_docs`). Raises RowError naming `where` and the reason."""
    if isinstance(row, BadLine):
        raise RowError("unreadable", f"{where}: {row.why}")
    if not isinstance(row, dict):
        raise RowError("not_a_conversation", f"{where}: a row must be a mapping, got {type(row).__name__}")
    if "messages" not in row or row["messages"] is None:
        keys = ", ".join(sorted(map(str, row))) or "none"
        raise RowError("not_a_conversation", f"{where}: missing `messages` (row keys: {keys})")
    messages = _decoded(row["messages"], "`messages`", where)
    tools = _decoded(row.get("tools"), "`tools`", where)
    if tools is not None and not isinstance(tools, list):
        raise RowError(
            "invalid_message", f"{where}: `tools` must be a list of tool schemas, got {type(tools).__name__}"
        )
    if isinstance(messages, list):
        messages = conventional_messages(messages, where)
    unencodable = lone_surrogate([messages, tools])
    if unencodable:
        raise RowError("unencodable_text", f"{where}: {unencodable}")
    try:
        # An empty list means no tools: render no tool system prompt at all, as for a plain chat.
        offered = offered_docs(tools) if tools else None
        tool_names(tools or [])
    except Exception as e:  # a schema of the wrong shape (a number, parameters as text, no name)
        raise RowError("invalid_tools", f"{where}: `tools`: {type(e).__name__}: {e}") from None
    try:
        # No tools declared means no call is allowed (tools=None would skip the name check).
        validate_messages(messages, tools=tools or [], require_target=True)
    except MessageError as e:
        reason = next((r for text, r in _MESSAGE_REASONS.items() if text in str(e)), "invalid_message")
        raise RowError(reason, f"{where}: {e}") from None
    return messages, offered


def _missed_function(row: dict, where: str) -> dict | None:
    """The row's `metadata.missed_function` ({user turn: [tool names]}, as synth writes it), or None."""
    metadata = _decoded(row.get("metadata"), "`metadata`", where, "missed_function")
    return metadata.get("missed_function") or None if isinstance(metadata, dict) else None


def _decode_calls(message: dict, where: str) -> dict:
    if not message.get("tool_calls") or not isinstance(message["tool_calls"], list):
        return message
    calls = []
    for call in message["tool_calls"]:
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            fn = call["function"]
            arguments = fn.get("arguments")
            if isinstance(arguments, str) and not arguments.strip():
                arguments = {}  # some exports write "" for a call without arguments
            arguments = _decoded(arguments, "tool-call arguments", where, "arguments_not_json")
            call = {**call, "function": {**fn, "arguments": arguments}}
        calls.append(call)
    return {**message, "tool_calls": calls}


# --- mixing -------------------------------------------------------------------------------------------------
def mix(sources: Sequence[tuple[str, list]], weights: Sequence[float], seed: int) -> list[tuple[str, int, Any]]:
    """(source, row index, row) drawn from each source `weight` times over: floor(w) full passes plus a seeded
    sample of the fractional part, then shuffled with the same seed. Row indices are kept for error messages."""
    rng = random.Random(seed)
    picked: list[tuple[str, int, Any]] = []
    for (name, rows), weight in zip(sources, weights):
        if weight < 0:
            raise DatasetError(f"dataset {name}: weight must be >= 0, got {weight}")
        whole, frac = int(weight), weight - int(weight)
        indices = list(range(len(rows))) * whole + sorted(rng.sample(range(len(rows)), round(frac * len(rows))))
        picked.extend((name, i, rows[i]) for i in indices)
    rng.shuffle(picked)
    return picked


# --- rendering ----------------------------------------------------------------------------------------------
def render_conversation(
    tokenizer,
    messages: list[dict],
    tools: list[dict] | None,
    options: ChatOptions,
    layout: str,
    max_length: int | None = None,
    missed_function: dict | None = None,
) -> list[tuple[list[int], list[int]]]:
    """(ids, mask) examples of one conversation in the given layout, all rendered by `chat.render`; `tools` are
    rendered as given (`normalize_row` gives the offered docs). Tool results take the form the options ask for
    (`chat.messages.merge_tool_results`), the form eval and RL feed them back in. A `missed_function`
    ({user turn: [tool names]}, BFCL's miss_func) holds those tools out of every prompt before that turn, whose
    user message becomes eval's holdout message (`chat.holdout.holdout_conversation`). With `max_length`,
    per_turn stops at the first prefix longer than that (every later one is longer still): the caller counts what
    is missing."""
    messages = merge_tool_results(messages, options.tool_results)
    conv = holdout_conversation(messages, tools, missed_function, options)
    messages = conv.messages
    if layout == "full":
        return _full_examples(tokenizer, messages, conv.stages, options)
    if layout == "per_turn":
        out = []
        for k, message in enumerate(messages):
            if message["role"] == "assistant":
                ex = render_example(tokenizer, messages[: k + 1], conv.tools_at(k), options, train="last")
                out.append((list(ex.ids), list(ex.mask)))
                if max_length is not None and len(ex.ids) > max_length:
                    break
        return out
    raise UserError(f"unknown sft.layout {layout!r}; use per_turn or full")


def _full_examples(tokenizer, messages: list[dict], stages: list, options: ChatOptions) -> list[tuple[list, list]]:
    """The full layout: one example training every assistant message, or, when the offered tools change at a
    holdout turn (hermes `tools` mode), one per stage of tools: stage i renders the conversation up to the next
    stage with its own tools and trains only its own assistant messages (each trained once, under the tools its
    prompt offers)."""
    if all(tools is stages[0][1] for _, tools in stages):
        ex = render_example(tokenizer, messages, stages[0][1], options, train="all")
        return [(list(ex.ids), list(ex.mask))]
    out = []
    for i, (start, tools) in enumerate(stages):
        end = stages[i + 1][0] if i + 1 < len(stages) else len(messages)
        if not any(m["role"] == "assistant" for m in messages[start:end]):
            continue
        ex = render_example(tokenizer, messages[:end], tools, options, train="all")
        mask, earlier = list(ex.mask), sum(m["role"] == "assistant" for m in messages[:start])
        runs = [j for j, bit in enumerate(mask) if bit and (j == 0 or not mask[j - 1])]  # each trained turn's start
        cut = runs[earlier] if earlier < len(runs) else len(mask)
        out.append((list(ex.ids), [0] * cut + mask[cut:]))
    return out


def without_reasoning(messages: list[dict]) -> list[dict]:
    """The conversation with every assistant message's reasoning removed (sft.reasoning: drop)."""
    return [{k: v for k, v in m.items() if k != "reasoning_content"} for m in messages]


def iter_examples(
    tokenizer,
    rows: Iterable[tuple[str, int, Any]],
    options: ChatOptions,
    layout: str,
    progress: bool = True,
    drop_reasoning: bool = False,
    max_length: int | None = None,
    report: dict | None = None,
):
    """(ids, mask) of every example; rows that cannot be trained on are dropped and counted in `report` by reason,
    examples over `max_length` counted (see the module docstring)."""
    if layout not in ("per_turn", "full"):
        raise UserError(f"unknown sft.layout {layout!r}; use per_turn or full")
    rows = list(rows)
    report = new_report() if report is None else report
    for name, i, row in tqdm(rows, desc=f"rendering SFT examples ({layout})", disable=not progress):
        report["rows"] += 1
        try:
            examples = list(_row_examples(tokenizer, name, i, row, options, layout, drop_reasoning, max_length, report))
        except RowError as e:
            drop_row(report, name, i, e.reason, str(e))
            continue
        except Exception as e:  # a shape no check above foresaw: that row, not the run (the threshold shows a bug)
            drop_row(report, name, i, "unexpected", f"{name} row {i}: {type(e).__name__}: {e}")
            continue
        yield from examples


def _row_examples(tokenizer, name, i, row, options, layout, drop_reasoning, max_length, report):
    where = f"{name} row {i}"
    messages, tools = normalize_row(row, where)
    try:
        problem = argument_problem(messages, tools)
    except Exception as e:  # a declared schema of the wrong shape (properties as a list of numbers)
        raise RowError("invalid_tools", f"{where}: `tools`: {type(e).__name__}: {e}") from None
    if problem is not None:
        raise RowError("arguments_do_not_fit_schema", f"{where}: {problem}")
    if drop_reasoning:
        messages = without_reasoning(messages)
    missed = _missed_function(row, where)
    try:
        examples = render_conversation(tokenizer, messages, tools, options, layout, max_length, missed)
    except HoldoutError as e:
        raise RowError("missed_function", f"{where}: {e}") from None
    except Exception as e:  # the template or tokenizer on text it cannot take: that row, not the run
        raise RowError("render_failed", f"{where}: {type(e).__name__}: {e}") from None
    wanted = sum(m["role"] == "assistant" for m in messages) if layout == "per_turn" else len(examples)
    over = wanted - len(examples)
    kept = []
    for ids, mask in examples:
        if 1 not in mask:
            raise RowError("render_failed", f"{where}: rendering produced no trained tokens")
        if max_length is not None and len(ids) > max_length:
            over += 1
            continue
        kept.append((ids, mask))
    if over:
        report["examples_over_max_length"] += over
        report["rows_over_max_length"] += 1
        if len(report["over_max_length_rows"]) < 20:
            report["over_max_length_rows"].append(where)
    if not kept:
        raise RowError("over_max_length", f"{where}: every example is longer than max_length={max_length} tokens")
    return kept


def new_report() -> dict:
    """What `iter_examples` drops: rows by reason (counted, and the first MAX_NAMED named as {source, row, reason,
    why}), and examples over max_length (counts, and the first 20 rows named)."""
    return {
        "rows": 0,
        "rows_dropped": 0,
        "by_reason": {},
        "dropped_rows": [],
        "examples_over_max_length": 0,
        "rows_over_max_length": 0,
        "over_max_length_rows": [],
    }


def drop_row(report: dict, source: str, row: int, reason: str, why: str) -> None:
    """Count one dropped row under `reason` and name it (a row drawn twice by mixing is named once)."""
    report["rows_dropped"] += 1
    report["by_reason"][reason] = report["by_reason"].get(reason, 0) + 1
    named = report["dropped_rows"]
    if len(named) < MAX_NAMED and not any(d["source"] == source and d["row"] == row for d in named):
        named.append({"source": source, "row": row, "reason": reason, "why": why})


def report_lines(report: dict, max_length: int | None) -> list[str]:
    """One warning line per reason rows were dropped for, naming the first such row, and one for the examples over
    max_length (the full report goes to train_summary.json)."""
    lines = []
    if report["examples_over_max_length"]:
        lines.append(
            f"dropped {report['examples_over_max_length']} examples longer than max_length={max_length} tokens from "
            f"{report['rows_over_max_length']} rows (first: {report['over_max_length_rows'][0]}); raise "
            "sft.max_length to keep them"
        )
    for reason, n in sorted(report["by_reason"].items(), key=lambda kv: -kv[1]):
        first = next(d["why"] for d in report["dropped_rows"] if d["reason"] == reason)
        what = DROP_REASONS.get(reason, reason)
        lines.append(f"dropped {n} of {report['rows']} rows: {what} [{reason}] (first: {first})")
    return lines


def dropped_share_problem(report: dict, max_dropped_fraction: float | None) -> str | None:
    """Why the run is refused for the rows it dropped (more than `max_dropped_fraction` of them), or None."""
    rows, dropped = report["rows"], report["rows_dropped"]
    if max_dropped_fraction is None or not rows or dropped / rows <= max_dropped_fraction:
        return None
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(report["by_reason"].items(), key=lambda kv: -kv[1]))
    first = report["dropped_rows"][0]["why"]
    return (
        f"{dropped} of {rows} rows ({dropped / rows:.1%}) cannot be trained on, more than "
        f"sft.max_dropped_fraction={max_dropped_fraction:g} ({reasons}; first: {first}); fix or remove those rows, "
        "or raise sft.max_dropped_fraction"
    )


def load_sources(specs: Sequence[DatasetSpec]) -> list[tuple[str, list]]:
    sources = []
    for spec in specs:
        rows = read_rows(spec.path)
        if not rows:
            raise DatasetError(f"training dataset {spec.path} is empty")
        sources.append((str(spec.path), rows))
    return sources


def build_sft_dataset(
    tokenizer,
    specs: Sequence[DatasetSpec],
    options: ChatOptions,
    layout: str = "per_turn",
    seed: int = 0,
    progress: bool = True,
    drop_reasoning: bool = False,
    max_length: int | None = None,
    report: dict | None = None,
    max_dropped_fraction: float | None = 0.05,
):
    """A pre-tokenized `datasets.Dataset` (`input_ids`, `assistant_masks`) ready for SFTTrainer. Rows that cannot be
    trained on and examples over `max_length` tokens are dropped and counted in `report` (`new_report()`), each
    reason printed as one warning line; DatasetError when more than `max_dropped_fraction` of the rows were dropped
    (None: any share) or nothing is left."""
    from datasets import Dataset  # deferred: heavy (pyarrow, pandas)

    if not specs:
        raise UserError("no training datasets given (sft.datasets is empty)")
    sources = load_sources(specs)
    rows = mix(sources, [s.weight for s in specs], seed)
    input_ids, masks = [], []
    report = new_report() if report is None else report
    examples = iter_examples(
        tokenizer, rows, options, layout, progress, drop_reasoning, max_length=max_length, report=report
    )
    for ids, mask in examples:
        input_ids.append(ids)
        masks.append(mask)
    lines = report_lines(report, max_length)
    for line in lines:
        print(f"[sft] warning: {line}")
    if not input_ids:
        why = "; ".join(lines) or "all weights 0?"
        raise DatasetError(f"the training datasets produced no examples ({why})")
    refused = dropped_share_problem(report, max_dropped_fraction)
    if refused:
        raise DatasetError(refused)
    return Dataset.from_dict({"input_ids": input_ids, "assistant_masks": masks})
