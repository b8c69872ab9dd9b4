"""A full, read-only or forbidden disk is one line and exit 2 from `funreason`, never a traceback.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/funreason/test_cli_errors.py
"""

from __future__ import annotations

import errno
import os

import pytest

from tests.cli import base_recipe, write


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_disk_is_one_line_exit_2(tmp_path, monkeypatch, capsys, code):
    import funreason.pipeline as pipeline
    from funreason.cli import main

    f = write(tmp_path / "r.yaml", base_recipe(tmp_path))
    target = str(tmp_path / "run" / "recipe.yaml")

    def save_fails(recipe):
        raise OSError(code, os.strerror(code), target)

    monkeypatch.setattr(pipeline, "ensure_model", lambda recipe: None)
    monkeypatch.setattr(pipeline, "save_resolved", save_fails)
    assert main(["run", "--config", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and target in err and "Traceback" not in err
