"""SFT examples from conversations: read datasets, mix them, render every example through `chat.render`.

    from train.data import build_sft_dataset
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

Rows that would teach something wrong or be cut are dropped, counted and reported (`build_sft_dataset(report=...)`,
which train/sft.py writes into train_summary.json and prints), never trained on silently:
  - a row with an assistant tool call whose arguments do not match the row's tool schema (an unknown argument, a
    missing required one, a value of the wrong type: `argument_problem`). Dropped rather than refused because one
    bad row of an external set should not stop a multi-GPU job after the model loaded; the whole row goes, since
    later turns build on that call. Every dropped row is named (source and row number) in the report;
  - an example longer than `max_length` tokens (TRL would cut it without a word). In the per_turn layout the
    later, longer prefixes of that conversation are dropped with it, without rendering them.
If nothing is left, that is an error.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from chat.holdout import holdout_conversation
from chat.messages import MessageError, merge_tool_results, validate_messages
from chat.render import render_example
from chat.tools import offered_docs
from core.errors import UserError
from core.jsonl import JsonlError, iter_jsonl
from core.sections.chat import ChatOptions
from core.sections.train import DatasetSpec


class DatasetError(UserError):
    """A training dataset cannot be used; the message names the dataset path and the row."""


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
        try:
            return [row for _, row in iter_jsonl(p)]
        except JsonlError as e:
            raise DatasetError(str(e)) from None
    if suffix == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DatasetError(f"{p}: invalid JSON at line {e.lineno} ({e.msg})") from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise DatasetError(f"{p}: expected a JSON list of rows, got {type(data).__name__}")
        return data
    if suffix == ".parquet":
        import pyarrow.parquet as pq  # deferred: heavy, and only .parquet inputs need it

        return pq.read_table(p).to_pylist()
    raise DatasetError(f"{p}: unsupported dataset format (use a save_to_disk dir, .jsonl, .json or .parquet)")


def _decoded(value: Any, what: str, where: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{where}: {what} is a string but not valid JSON ({e.msg})") from None
    return value


def normalize_row(row: Any, where: str) -> tuple[list[dict], list[dict] | None]:
    """(messages, tools) of one row, JSON strings decoded and validated, tools as the prompt offers them
    (`chat.tools.offered_docs`). Raises DatasetError naming `where`."""
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: a row must be a mapping, got {type(row).__name__}")
    if "messages" not in row or row["messages"] is None:
        keys = ", ".join(sorted(row)) or "none"
        raise DatasetError(f"{where}: missing `messages` (row keys: {keys})")
    messages = _decoded(row["messages"], "`messages`", where)
    tools = _decoded(row.get("tools"), "`tools`", where)
    if tools is not None and not isinstance(tools, list):
        raise DatasetError(f"{where}: `tools` must be a list of tool schemas, got {type(tools).__name__}")
    if isinstance(messages, list):
        messages = [_decode_calls(m, where) for m in messages]
    try:
        # No tools declared means no call is allowed (tools=None would skip the name check).
        validate_messages(messages, tools=tools or [], require_target=True)
    except MessageError as e:
        raise DatasetError(f"{where}: {e}") from None
    # An empty list means no tools: render no tool system prompt at all, as for a plain chat.
    return messages, offered_docs(tools) if tools else None


def _missed_function(row: dict, where: str) -> dict | None:
    """The row's `metadata.missed_function` ({user turn: [tool names]}, as synth writes it), or None."""
    metadata = _decoded(row.get("metadata"), "`metadata`", where)
    return metadata.get("missed_function") or None if isinstance(metadata, dict) else None


def _decode_calls(message: Any, where: str) -> Any:
    if not isinstance(message, dict) or not message.get("tool_calls"):
        return message
    calls = []
    for call in message["tool_calls"]:
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            fn = call["function"]
            call = {
                **call,
                "function": {**fn, "arguments": _decoded(fn.get("arguments"), "tool-call arguments", where)},
            }
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
    """(ids, mask) of every example; rows and examples dropped (see the module docstring) are counted in `report`."""
    rows = list(rows)
    report = new_report() if report is None else report
    for name, i, row in tqdm(rows, desc=f"rendering SFT examples ({layout})", disable=not progress):
        where = f"{name} row {i}"
        messages, tools = normalize_row(row, where)
        problem = argument_problem(messages, tools)
        if problem is not None:
            report["rows_with_bad_arguments"] += 1
            if len(report["bad_argument_rows"]) < 20:
                report["bad_argument_rows"].append(f"{where}: {problem}")
            continue
        if drop_reasoning:
            messages = without_reasoning(messages)
        try:
            missed = _missed_function(row, where)
            examples = render_conversation(tokenizer, messages, tools, options, layout, max_length, missed)
        except UserError as e:
            raise DatasetError(f"{where}: {e}") from None
        wanted = sum(m["role"] == "assistant" for m in messages) if layout == "per_turn" else len(examples)
        over = wanted - len(examples)
        for ids, mask in examples:
            if 1 not in mask:
                raise DatasetError(f"{name} row {i}: rendering produced no trained tokens")
            if max_length is not None and len(ids) > max_length:
                over += 1
                continue
            yield ids, mask
        if over:
            report["examples_over_max_length"] += over
            report["rows_over_max_length"] += 1
            if len(report["over_max_length_rows"]) < 20:
                report["over_max_length_rows"].append(where)


def new_report() -> dict:
    """What `iter_examples` drops, by reason (counts, and the first 20 rows named)."""
    return {
        "rows_with_bad_arguments": 0,
        "bad_argument_rows": [],
        "examples_over_max_length": 0,
        "rows_over_max_length": 0,
        "over_max_length_rows": [],
    }


def report_lines(report: dict, max_length: int | None) -> list[str]:
    """One warning line per kind of drop, for the log (the full report goes to train_summary.json)."""
    lines = []
    if report["rows_with_bad_arguments"]:
        lines.append(
            f"dropped {report['rows_with_bad_arguments']} rows whose tool-call arguments do not match their tool "
            f"schema (first: {report['bad_argument_rows'][0]})"
        )
    if report["examples_over_max_length"]:
        lines.append(
            f"dropped {report['examples_over_max_length']} examples longer than max_length={max_length} tokens from "
            f"{report['rows_over_max_length']} rows (first: {report['over_max_length_rows'][0]}); raise "
            "sft.max_length to keep them"
        )
    return lines


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
):
    """A pre-tokenized `datasets.Dataset` (`input_ids`, `assistant_masks`) ready for SFTTrainer. Examples over
    `max_length` tokens and rows with calls that do not fit their schema are dropped and counted in `report`
    (`new_report()`), each kind printed as one warning line."""
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
    return Dataset.from_dict({"input_ids": input_ids, "assistant_masks": masks})
