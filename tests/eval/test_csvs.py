"""Leaderboard CSVs and group scores: BFCL's columns, byte-identical rows where every category ran, N/A (never a
deflated number) where one did not, and v3's formula as an option; format sensitivity's max delta, std and
per-config accuracies in data_overall.csv and data_format_sensitivity.csv, "N/A" where it was not run.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_csvs.py
"""

from __future__ import annotations

import copy
import random

import pytest
from funreason.chat.format_sensitivity import CONFIGS as FORMAT_CONFIGS
from funreason.eval import csvs
from funreason.eval.csvs import DATASET_SIZES, groups, overall_note, write_leaderboard_csvs
from funreason.eval.format_sensitivity import _spread

from tests import bfcl_official as official


def _table(rng, categories, latency: list[float], format_configs: int = 0) -> dict:
    value = {c: {"accuracy": rng.randint(0, n) / n, "total_count": n} for c, n in DATASET_SIZES.items() if c in categories}  # fmt: skip
    if format_configs:  # a format_sensitivity score header over the first configs (all 26: a full run)
        value["format_sensitivity"] = _format_header(rng, FORMAT_CONFIGS[:format_configs])
    return {**value, "latency": latency}


def _format_header(rng, configs) -> dict:
    per_config = {}
    for config in configs:
        correct = rng.randint(0, 200)
        per_config[config] = {"accuracy": correct / 200, "correct_count": correct, "total_count": 200}
    correct = sum(v["correct_count"] for v in per_config.values())
    header = {"accuracy": correct / (200 * len(configs)), "correct_count": correct, "total_count": 200 * len(configs)}
    header.update(_spread([v["accuracy"] for v in per_config.values()]))
    return {**header, **per_config}


def _official_csvs(table: dict, tmp_path) -> dict[str, str]:
    bfcl_table = {}
    for model, value in table.items():
        official.register_model(model)
        scores = {k: copy.deepcopy(v) for k, v in value.items() if k != "latency"}
        bfcl_table[model] = {
            **scores, "latency": {"data": list(value["latency"])}, "cost": {"input_data": [], "output_data": []},
        }  # fmt: skip
    out = tmp_path / "official"
    out.mkdir()
    official.generate_leaderboard_csv(bfcl_table, out)
    return {name: (out / name).read_text() for name in csvs.CSV_FILES}


def test_columns_are_bfcl_columns():
    from bfcl_eval.constants import column_headers as h

    assert csvs.COLUMNS_OVERALL == h.COLUMNS_OVERALL and csvs.COLUMNS_MULTI_TURN == h.COLUMNS_MULTI_TURN
    assert csvs.COLUMNS_NON_LIVE == h.COLUMNS_NON_LIVE and csvs.COLUMNS_LIVE == h.COLUMNS_LIVE
    assert csvs.COLUMNS_AGENTIC == h.COLUMNS_AGENTIC
    assert csvs.COLUMNS_FORMAT_SENS == h.COLUMNS_FORMAT_SENS_PREFIX + [f"Config {c}" for c in FORMAT_CONFIGS]
    assert len(csvs.CSV_FILES) == 6 and "data_format_sensitivity.csv" in csvs.CSV_FILES


def test_dataset_sizes_are_the_installed_bfcl_sizes():
    from funreason.eval.single_turn import CATEGORIES, dataset_size

    for category in CATEGORIES:
        assert DATASET_SIZES[category] == dataset_size(category), category


def test_full_runs_give_bfcl_csvs_byte_for_byte(tmp_path):
    rng = random.Random(3)
    # format sensitivity: run on all configs, on a few (partial), on one (max delta 0.0), or not run (N/A)
    runs = [26, 0, 26, 5, 1, 0, 26]
    table = {
        f"model_{k}": _table(rng, DATASET_SIZES, [rng.uniform(0.1, 3) for _ in range(50)], configs)
        for k, configs in enumerate(runs)
    }
    theirs = _official_csvs(table, tmp_path)
    write_leaderboard_csvs(table, tmp_path / "ours")
    for name in csvs.CSV_FILES:
        ours = (tmp_path / "ours" / name).read_text()
        # BFCL shows registry display names; ours are the model dirs: the same here
        assert ours == theirs[name], name
    format_rows = [r.split(",") for r in theirs["data_format_sensitivity.csv"].split("\n")[1:]]
    assert [r[2] == "N/A" for r in format_rows] == [False] * 5 + [True] * 2  # the rows not run come last
    assert sum("N/A" in r[4:] for r in format_rows) == 4  # partial runs leave their other configs N/A
    overall = [r.split(",") for r in theirs["data_overall.csv"].split("\n")[1:]]
    assert sorted(r[32] for r in overall).count("N/A") == 2 and all(r[32] != "N/A" or r[33] == "N/A" for r in overall)


def test_missing_groups_are_na_where_bfcl_shows_deflated_numbers(tmp_path):
    rng = random.Random(4)
    # multi-turn and single-turn run, agentic not: BFCL counts memory and web search as 0 in Overall
    ran = [c for c in DATASET_SIZES if not c.startswith(("memory", "web_search"))]
    table = {"mt_only": _table(rng, ran, [1.0, 2.0])}
    theirs = _official_csvs(table, tmp_path)
    write_leaderboard_csvs(table, tmp_path / "ours")
    header = csvs.COLUMNS_OVERALL
    ours_row = (tmp_path / "ours" / "data_overall.csv").read_text().split("\n")[1].split(",")
    their_row = theirs["data_overall.csv"].split("\n")[1].split(",")
    for col, a, b in zip(header, ours_row, their_row):
        if col in ("Overall Acc",):
            assert a == "N/A" and b.endswith("%"), (col, a, b)  # BFCL's is deflated
        else:
            assert a == b, (col, a, b)
    note = overall_note(table["mt_only"])
    assert "Agentic" in note and "deflated" in note
    g = groups(table["mt_only"])
    assert g["Overall"]["display"] == "N/A"
    deflated = float(their_row[1].rstrip("%"))
    assert f"{deflated:.2f}%" in note  # the note states BFCL's number


def test_excluding_web_search_is_stated_separately():
    rng = random.Random(5)
    value = _table(rng, [c for c in DATASET_SIZES if not c.startswith("web_search")], [])
    g = groups(value)
    note = overall_note(value)
    assert g["Overall"]["display"] == "N/A"
    assert f"Overall (v4, excl. web search, max 80%) = {g['Overall']['accuracy'] * 100:.2f}%" in note
    assert g["Overall"]["accuracy"] <= 0.8


def test_v3_formula():
    rng = random.Random(6)
    value = _table(rng, DATASET_SIZES, [])
    g = groups(value, "v3")
    acc = {c: value[c]["accuracy"] for c in DATASET_SIZES}
    simple = (acc["simple_python"] + acc["simple_java"] + acc["simple_javascript"]) / 3
    non_live = (simple + acc["multiple"] + acc["parallel"] + acc["parallel_multiple"] + acc["irrelevance"]) / 5
    live_cats = ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance",
                 "live_relevance"]  # fmt: skip
    live = sum(acc[c] * DATASET_SIZES[c] for c in live_cats) / sum(DATASET_SIZES[c] for c in live_cats)
    mt = sum(acc[c] for c in csvs.MULTI_TURN) / 4
    assert g["Non-Live"]["display"] == pytest.approx(non_live)
    assert g["Live"]["display"] == pytest.approx(live)
    assert g["Overall"]["display"] == pytest.approx((non_live + live + mt) / 3)
    assert "v3 formula" in overall_note(value, "v3")
    v4 = groups(value)
    assert v4["Overall"]["display"] != pytest.approx(g["Overall"]["display"])
    with pytest.raises(ValueError, match="v3"):
        groups(value, "v5")
