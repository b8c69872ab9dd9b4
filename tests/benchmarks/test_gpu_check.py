"""`make gpu-check` on CPU: benchmarks/gpu_check.py --dry-run walks every part's code path (SFT throughput, eval
lockstep vs one-at-a-time, the GRPO step split) on the tiny shape and writes its one table as JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/benchmarks/test_gpu_check.py      # ~1-2 min on 2 cores

The figures of a dry run mean nothing; what is checked is that each part ran and reported what the GPU run reports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dry_run_runs_every_part_and_writes_the_table(tmp_path):
    sys.path.insert(0, str(ROOT))
    from benchmarks.gpu_check import PARTS, main

    out = tmp_path / "gpu_check.json"
    main(["--dry-run", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["dry_run"] and report["shape"] == "tiny"
    parts = report["parts"]
    assert set(parts) == set(PARTS) and not [p for p in parts.values() if "error" in p], parts
    sft, ev, grpo = parts["sft"], parts["eval"], parts["grpo"]
    assert sft["tokens_per_s_per_gpu"] > sft["trained_tokens_per_s"] > 0 and sft["params"] > 0
    assert ev["one_at_a_time_steps"] == ev["lockstep_steps"] > 0  # the same work both ways
    assert ev["speedup"] == pytest.approx(ev["one_at_a_time_s"] / ev["lockstep_s"])
    split = sum(grpo[k] for k in ("generation_s", "environment_s", "render_s", "optimization_s"))
    assert grpo["total_s"] == pytest.approx(split) and grpo["generation_s"] > 0
    figures = {(row["part"], row["figure"].split(" (")[0].strip()) for row in report["table"]}
    for expected in [("sft", "tokens/s/GPU"), ("sft", "MFU"), ("eval", "speed-up"), ("grpo", "step s")]:
        assert expected in figures, figures


def test_a_part_out_of_time_is_a_row_not_a_crash(tmp_path):
    sys.path.insert(0, str(ROOT))
    from benchmarks import gpu_check

    result = gpu_check.run_part("sft", tmp_path / "model", "dry", tmp_path, timeout=0.01)
    assert result["error"].startswith("over its 0 s share")
    assert gpu_check.table({"sft": result}) == [("sft", "error", result["error"])]
