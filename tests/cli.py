"""Running `funreason` in a subprocess as a user would, and the recipe and result files such runs take."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}


def funreason(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "funreason", *args], cwd=REPO, env=ENV, capture_output=True, text=True, **kw
    )


def base_recipe(tmp_path: Path, **sections) -> dict:
    return {"model": str(tmp_path / "model"), "run_dir": str(tmp_path / "run"), **sections}


def write(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def math_result_dir(root: Path, lines: list[str]) -> Path:
    d = root / "m" / "multi_turn"
    d.mkdir(parents=True)
    rows = [{"id": "multi_turn_base_31", "result": [[f"[{line}]" for line in lines], []]}]
    (d / "BFCL_v4_multi_turn_base_result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root
