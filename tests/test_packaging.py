"""`pip install .` installs one namespace, funreason, holding every source module (pyproject's package-dir).

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_packaging.py

The wheel is built from a copy of the tracked files, so the test writes nothing into the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ["core", "chat", "envs", "synth", "train", "eval"]


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return out.stdout.split()
    # not a git checkout (an sdist, say): the source folders and the build files are what the wheel needs
    return [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and ".venv" not in p.parts]


def test_the_wheel_installs_one_namespace_with_every_module(tmp_path):
    src = tmp_path / "src"
    for rel in tracked_files():
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(wheels),
            ".",
        ],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"funreason"}, f"the wheel installs {sorted(top)} at the top of site-packages"

    expected = {f"funreason/{rel}" for rel in tracked_files() if rel.endswith(".py") and rel.split("/")[0] in STAGES}
    expected |= {rel for rel in tracked_files() if rel.startswith("funreason/") and rel.endswith((".py", ".jinja"))}
    missing = sorted(expected - set(names))
    assert not missing, f"source modules missing from the wheel (add their package to pyproject): {missing[:10]}"
