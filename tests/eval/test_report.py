"""The report over evaluated labels: leaderboard beside quoted paper rows, diagnostics, provenance, chart, CSVs.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_report.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from funreason.chat import pythonic
from funreason.core import provenance
from funreason.core.errors import UserError
from funreason.envs import bfcl
from funreason.envs.dispatch import parse_call
from funreason.eval.bfcl_layout import result_file_name
from funreason.eval.report import QUOTED, main, run_report_stage
from funreason.eval.score import score_results

N = 6  # entries per category: enough for distinct scores, fast to score


def _label(run_dir: Path, label: str, speak: bool) -> None:
    """A scored eval label: the ground truth in pythonic format (when `speak`), else a model that only chats."""
    out = run_dir / "eval" / label
    d = out / "result" / label / "multi_turn"
    d.mkdir(parents=True)
    for cat in bfcl.MULTI_TURN_CATEGORIES:
        gt = bfcl.load_ground_truth(cat)
        rows = []
        for entry_id in list(gt)[:N]:
            turns = []
            for turn in gt[entry_id]:
                calls = [parse_call(c) for c in turn]
                ok = speak and all(not c.positional for c in calls)  # BFCL's decoder drops positional args
                turns.append(([pythonic.render_calls(calls)] if ok and calls else []) + ["Done."])
            rows.append({"id": entry_id, "result": turns, "input_token_count": [[100] * len(t) for t in turns]})
        (d / result_file_name(bfcl.category_name(cat))).write_text("".join(json.dumps(r) + "\n" for r in rows))
    scores = score_results(out / "result", out / "score", "pythonic")
    meta = {
        "label": label,
        "model": f"/models/{label}",
        "tool_format": "pythonic",
        "sampling": {"temperature": 0.0, "top_p": 1.0},
        "max_new_tokens": 4096,
        "wall_time_s": 12.5,
        "token_counts": {"prompt": 1234, "completion": 567},
        "scores": scores,
        "provenance": provenance.collect(data_files=bfcl.data_files("base")[:1]),
    }
    (out / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    _label(run, "base", speak=False)
    _label(run, "sft", speak=True)
    return run


def test_report_has_table_paper_rows_diagnostics_and_provenance(run_dir, capsys):
    assert main([str(run_dir)]) == 0
    out = run_dir / "report"
    md = (out / "report.md").read_text()
    base_row = next(line for line in md.splitlines() if line.startswith("| base | measured"))
    sft_row = next(line for line in md.splitlines() if line.startswith("| sft | measured"))
    assert "| 0.00 (n=6) | 0.00 (n=6)" in base_row
    sft_scores = json.loads((run_dir / "eval" / "sft" / "metadata.json").read_text())["scores"]["models"]["sft"]
    for cat, header in sft_scores["categories"].items():
        assert f"{header['accuracy'] * 100:.2f} (n=6)" in sft_row, cat
    assert sum(h["correct_count"] for h in sft_scores["categories"].values()) > 12  # mostly right, unlike base
    assert f"| Qwen3-4B + FunReason-MT (RL) | {QUOTED} | 57.75 | 62.50 | 60.50 | 48.50 | 59.50 |" in md
    assert "arXiv 2510.24645" in md
    # diagnostics: the silent model never decodes a call; the ground truth always names existing tools
    assert "| base | 0.0% (0/" in md and "| sft | " in md and "100.0% (" in md
    assert "multi_turn:empty_turn_model_response" in md and "First failing turn" in md
    assert "| base | pythonic | temperature=0.0, top_p=1.0 | 4096 | 1234 | 567 | 12.5 | 24 |" in md
    assert "bfcl-eval " + bfcl.bfcl_version() in md and "sha256 `" in md and "- git: " in md
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = (out / "data_multi_turn.csv").read_text().split("\n")
    assert csv[1].startswith("1,sft,") and csv[2].startswith("2,base,0.00%")
    assert "wrote" in capsys.readouterr().out


def test_run_report_stage_uses_recipe_title_and_records_recipe(run_dir):
    from funreason.core.recipe import Recipe
    from funreason.core.sections.eval import ReportSection

    recipe = Recipe(model="models/m", run_dir=str(run_dir), seed=3, report=ReportSection(title="Smoke"))
    recipe.source = "recipes/x.yaml"
    summary = run_report_stage(recipe, "runs/x/recipe.yaml")
    assert set(summary["labels"]) == {"base", "sft"}
    md = (run_dir / "report" / "report.md").read_text()
    assert md.startswith("# Smoke\n")
    # This report's recipe differs from the labels' (they recorded none): listed under "this report" only.
    report_part = md[md.index("- **this report**") :]
    assert "- recipe: `recipes/x.yaml`" in report_part and "- model: `models/m`" in report_part
    assert "- seed: 3" in report_part
    written = json.loads((run_dir / "report" / "report.json").read_text())
    assert written["provenance"]["recipe"]["run_dir"] == str(run_dir)


def test_provenance_says_what_is_shared_once_and_names_files_apart(run_dir):
    from funreason.eval.report import file_names

    assert main([str(run_dir)]) == 0
    md = (run_dir / "report" / "report.md").read_text()
    prov = md[md.index("## Provenance") :]
    # Both labels share packages, git, python and their data file: said once, above the per-model lines.
    shared = prov[: prov.index("- **base**")]
    assert "Shared by every model:" in shared and "bfcl-eval " in shared and "- git: " in shared
    assert prov.count("bfcl-eval ") == 1 and prov.count("sha256") == 1 and "file `" in shared
    # What differs per model: the model each label evaluated.
    assert "- evaluated model: `/models/base`" in prov and "- evaluated model: `/models/sft`" in prov
    # The same basename in two folders is never shown twice as the same name.
    names = file_names(["/x/data/BFCL_v4_multi_turn_base.json", "/x/possible_answer/BFCL_v4_multi_turn_base.json"])
    assert sorted(names.values()) == [
        "data/BFCL_v4_multi_turn_base.json",
        "possible_answer/BFCL_v4_multi_turn_base.json",
    ]
    assert file_names(["/a/b/c.json"]) == {"/a/b/c.json": "c.json"}


def test_provenance_lists_a_file_only_some_models_read_under_those_models(tmp_path):
    """Seeds' runs read different question files: no file is shared, each is listed under its own model."""
    from funreason.eval.report import _provenance_section

    common = provenance.collect()
    records = [
        (f"seed-{k}/sft", {**common, "data_files": {f"/r/seed-{k}/synthtest_questions.jsonl": f"h{k}"}}) for k in (0, 1)
    ]
    lines = "\n".join(_provenance_section([*records, ("this report", common)]))
    assert "file `seed-0/synthtest_questions.jsonl` sha256 `h0`" in lines
    assert "file `seed-1/synthtest_questions.jsonl` sha256 `h1`" in lines
    assert lines.count("bfcl-eval ") == 1


def test_all_zero_chart_draws_diagnostics_learning_curve_and_check_rows(tmp_path, monkeypatch):
    """When every measured score is 0, report.png shows the measured diagnostics; GRPO's curve gets its own PNG;
    the learning check's table gets rows."""
    from funreason.eval import report, report_charts

    run = tmp_path / "seed-0"
    _label(run, "base", speak=False)
    drawn = {}
    real_bars = report_charts._bars

    def spy(series, cats, title, path, **kwargs):
        drawn[path.name] = (cats, title)
        return real_bars(series, cats, title, path, **kwargs)

    monkeypatch.setattr(report_charts, "_bars", spy)
    (run / "grpo").mkdir()
    curve = {"heldout_curve": [[0, 0.2], [10, 0.35]], "reward_curve": [[1, 0.3], [10, 0.6]]}
    (run / "grpo" / "train_summary.json").write_text(json.dumps(curve))
    check = {
        "category": "synthtest",
        "turns": 110,
        "seeds": [0, 1, 2],
        "rows": {"sft": {"mean": 0.3, "min": 0.25, "max": 0.35, "per_seed": [0.25, 0.3, 0.35]}},
    }
    (tmp_path / "learning_check.json").write_text(json.dumps(check))
    summary = report.build_report([run], tmp_path / "out")
    cats, title = drawn["report.png"]
    assert cats[:3] == ["decodable steps", "calls to existing tools", "checked turns passed"] and "diagnostics" in title
    assert (tmp_path / "out" / "report_learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert str(tmp_path / "out" / "report_learning_curve.png") in summary["charts"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| learning check: sft | measured | 30.0% | 25.0% | 35.0% | 25.0%, 30.0%, 35.0% |" in md
    assert md.index("## Learning check") < md.index("## Leaderboard")  # the verdict first, BFCL's context after


def test_no_evaluated_model_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="no evaluated model found"):
        main([str(tmp_path)])


def test_provenance_collects_versions_git_and_hashes(tmp_path):
    f = tmp_path / "data.jsonl"
    f.write_text("x")
    info = provenance.collect(data_files=[f], extra={"note": 1})
    assert info["packages"]["bfcl-eval"] == bfcl.bfcl_version() and "transformers" in info["packages"]
    assert info["data_files"][str(f)] == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert {"commit", "dirty"} <= set(info["git"]) and info["note"] == 1 and info["python"]
