"""Scoring in worker processes writes exactly what scoring in one process writes, and fails the same way; the job
runner underneath keeps order, raises a job's own error, and never hangs on a dead worker.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_parallel_scoring.py
"""

from __future__ import annotations

import json
import os
import random
import signal
from pathlib import Path

import pytest
from funreason.core.errors import UserError
from funreason.core.parallel import run_jobs
from funreason.envs import bfcl
from funreason.eval import score
from funreason.eval.bfcl_layout import group_of, result_file_name
from funreason.eval.single_turn import load_category

from tests.bfcl_ast_damage import model_output


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _results(root: Path) -> Path:
    """One model dir: ground-truth replays of 12 entries per multi-turn category, one in three broken (a call
    dropped), plus three single-turn categories."""
    model = root / "m"
    for cat in ["base", "miss_param", "long_context"]:
        gt = bfcl.load_ground_truth(cat)
        rows = []
        for n, entry in enumerate(bfcl.load_entries(cat)[:12]):
            turns = [[f"[{', '.join(calls[: len(calls) - (n % 3 == 0)])}]", "Done."] for calls in gt[entry["id"]]]
            rows.append({"id": entry["id"], "result": turns})
        _write(model / "multi_turn" / result_file_name(bfcl.category_name(cat)), rows)
    rng = random.Random(0)
    for cat in ["simple_python", "multiple", "live_simple"]:
        entries, gt = load_category(cat)
        rows = [{"id": i, "result": model_output(entries[i], gt[i], "pythonic", rng)} for i in list(entries)[:40]]
        _write(model / group_of(cat) / result_file_name(cat), rows)
    return root


def _tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_workers_write_the_same_scores_as_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(score, "PARALLEL_MIN_SECONDS", 0)  # these files are small: force the worker path
    results = _results(tmp_path / "result")
    serial = score.score_results(results, tmp_path / "serial", workers=1)
    parallel = score.score_results(results, tmp_path / "parallel", workers=2)
    assert _tree(tmp_path / "serial") == _tree(tmp_path / "parallel")
    cats = serial["models"]["m"]["categories"]
    assert cats == parallel["models"]["m"]["categories"]
    assert 0 < cats["multi_turn_base"]["accuracy"] < 1  # the broken replays fail, the others pass
    assert len(cats) == 6


def test_a_bad_row_in_a_worker_is_the_same_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(score, "PARALLEL_MIN_SECONDS", 0)
    results = _results(tmp_path / "result")
    path = results / "m" / "multi_turn" / result_file_name("multi_turn_miss_param")
    path.write_text(path.read_text() + json.dumps({"id": "multi_turn_miss_param_9999", "result": []}) + "\n")
    for workers in (1, 2):
        with pytest.raises(UserError, match=r"_result\.json:13: id 'multi_turn_miss_param_9999' is not an entry"):
            score.score_results(results, tmp_path / f"out{workers}", workers=workers)


def test_jobs_run_in_workers_and_come_back_in_their_order():
    jobs = [lambda i=i: (i, os.getpid()) for i in range(7)]
    out = run_jobs(jobs, workers=3, costs=[1, 5, 2, 7, 3, 6, 4])
    assert [i for i, _ in out] == list(range(7))
    assert all(pid != os.getpid() for _, pid in out)  # ran in workers
    assert run_jobs(jobs, workers=1)[0][1] == os.getpid()  # one worker: in this process


def test_a_job_error_is_raised_and_a_dead_worker_does_not_hang():
    def boom():
        raise KeyError("job 1 broke")

    with pytest.raises(KeyError, match="job 1 broke"):
        run_jobs([lambda: 0, boom, lambda: 2], workers=2)
    with pytest.raises(RuntimeError, match="worker process died"):
        run_jobs([lambda: 0, lambda: os.kill(os.getpid(), signal.SIGKILL)], workers=2)
