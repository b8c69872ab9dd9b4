"""SFT rows that cannot be trained on (calls off their schema, over max_length) are dropped and named.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/train/test_data_schema_and_length.py
"""

from __future__ import annotations

import time

import pytest

from tests.conversations import long_conversation


def _sft_rows():
    from tests.train.test_data import sft_conversations

    return sft_conversations(12, seed=3)


def _first_call(row):
    for message in row["messages"]:
        if message.get("tool_calls"):
            return message["tool_calls"][0]["function"]
    raise AssertionError("no call")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda fn: fn["arguments"].update(zzz=1), "has no argument 'zzz'"),
        (lambda fn: fn["arguments"].pop(next(iter(fn["arguments"]))), "lacks required argument"),
        (lambda fn: fn["arguments"].update({k: [1] for k in fn["arguments"]}), "is list, the schema says"),
        (lambda fn: fn["arguments"].update({k: True for k in fn["arguments"]}), "is bool, the schema says"),
    ],
)
def test_calls_that_do_not_fit_their_schema_are_dropped_and_named(tiny_tokenizer, tmp_path, damage, reason, capsys):
    from funreason.core.sections.train import DatasetSpec
    from funreason.train.data import build_sft_dataset, new_report

    from tests.train.test_data import OPTIONS, write_dataset

    rows = _sft_rows()
    clean = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(write_dataset(tmp_path / "a.jsonl", rows)))], OPTIONS,
                              layout="full", progress=False)  # fmt: skip
    bad = [i for i, r in enumerate(rows) if any(m.get("tool_calls") for m in r["messages"])][:2]
    for i in bad:
        damage(_first_call(rows[i]))
    report = new_report()
    path = write_dataset(tmp_path / "b.jsonl", rows)
    ds = build_sft_dataset(tiny_tokenizer, [DatasetSpec(str(path))], OPTIONS, layout="full", progress=False,
                           report=report, max_dropped_fraction=None)  # fmt: skip
    assert len(ds) == len(clean) - 2
    assert report["by_reason"] == {"arguments_do_not_fit_schema": 2}
    assert all(reason in d["why"] and "row" in d["why"] for d in report["dropped_rows"])
    assert f"row {bad[0]}:" in " ".join(d["why"] for d in report["dropped_rows"])
    assert "[sft] warning: dropped 2 of 12 rows: a call whose arguments do not fit" in capsys.readouterr().out


def test_examples_over_max_length_are_dropped_and_counted_never_cut(tiny_tokenizer, tmp_path, capsys):
    from funreason.core.sections.train import DatasetSpec
    from funreason.train.data import DatasetError, build_sft_dataset, new_report

    from tests.train.test_data import OPTIONS, write_dataset

    rows = _sft_rows()
    spec = [DatasetSpec(str(write_dataset(tmp_path / "a.jsonl", rows)))]
    full = build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="per_turn", progress=False)
    lengths = sorted(len(ids) for ids in full["input_ids"])
    limit = lengths[len(lengths) // 2]
    report = new_report()
    kept = build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="per_turn", progress=False, max_length=limit,
                             report=report, max_dropped_fraction=None)  # fmt: skip
    assert max(len(ids) for ids in kept["input_ids"]) <= limit
    assert sorted(len(ids) for ids in kept["input_ids"]) == [n for n in lengths if n <= limit]  # none cut
    assert report["examples_over_max_length"] == sum(n > limit for n in lengths)
    assert report["rows_over_max_length"] >= 1 and report["over_max_length_rows"][0].startswith(str(tmp_path))
    assert f"longer than max_length={limit} tokens" in capsys.readouterr().out
    with pytest.raises(DatasetError, match=r"produced no examples \(dropped \d+ examples longer than max_length=5"):
        build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="full", progress=False, max_length=5)


def test_a_hostile_long_row_costs_time_linear_in_what_fits(tiny_tokenizer, tmp_path):
    """27,000 messages in the per_turn layout: only prefixes up to max_length are rendered."""
    from funreason.core.sections.train import DatasetSpec
    from funreason.train.data import build_sft_dataset, new_report

    from tests.train.test_data import OPTIONS, write_dataset

    conversation = long_conversation(13_500)
    row = {"messages": conversation, "tools": [{"type": "function", "function": {
        "name": "ls", "description": "List files.",
        "parameters": {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": []}}}]}  # fmt: skip
    spec = [DatasetSpec(str(write_dataset(tmp_path / "a.jsonl", [row])))]
    report = new_report()
    t0 = time.monotonic()
    ds = build_sft_dataset(tiny_tokenizer, spec, OPTIONS, layout="per_turn", progress=False, max_length=2048,
                           report=report)  # fmt: skip
    assert time.monotonic() - t0 < 120
    assert len(ds) >= 1 and report["examples_over_max_length"] == 13_501 - len(ds)
