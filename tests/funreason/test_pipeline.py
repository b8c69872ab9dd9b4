"""`funreason run`: a stage that produced nothing is not done; teacher transport is not a run's identity.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/funreason/test_pipeline.py
"""

from __future__ import annotations

from tests.cli import base_recipe, write


def test_all_failed_synthesis_is_not_done_and_transport_is_not_identity(tmp_path, capsys, tiny_model_dir):
    """Every teacher request fails: exit non-zero, no DONE.json; a rerun against another URL is not refused."""
    from funreason.cli import main
    from tests.fake_openai import FakeOpenAIServer, Fault

    def teacher(base_url: str) -> dict:
        return {"kind": "openai", "base_url": base_url, "max_retries": 0, "api_key_env": "NO_SUCH_KEY_VAR"}

    synth = {"environments": ["GorillaFileSystem"], "num_trajectories": 3, "rounds": [1, 1], "trace_length": [1, 1]}
    f = tmp_path / "r.yaml"
    with FakeOpenAIServer(lambda endpoint, request: Fault(status=400)) as server:
        write(
            f,
            {
                **base_recipe(tmp_path, synth={**synth, "teacher": teacher(server.base_url)}),
                "model": str(tiny_model_dir),
            },
        )
        assert main(["run", "--config", str(f), "--stages", "synth"]) == 1
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if "error" in x]  # the rest is the progress bar
    assert line.startswith("funreason run: error: synth accepted 0 of 3 trajectories") and "stats.json" in line
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "synth" / "DONE.json").exists()
    with FakeOpenAIServer(lambda endpoint, request: Fault(status=400)) as server:  # another port: another URL
        write(f, base_recipe(tmp_path, synth={**synth, "teacher": {**teacher(server.base_url), "api_key_env": "K"}}))
        assert main(["synth", "--config", str(f), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "accepted 0 of 3" in err and "different settings" not in err


def test_synth_identity_ignores_transport_only():
    from funreason.core.sections.synth import SynthConfig
    from funreason.core.sections.teacher import TeacherConfig
    from funreason.synth.pipeline import _identity

    def ident(**teacher):
        return _identity(SynthConfig(teacher=TeacherConfig(kind="openai", **teacher)), 0)

    a = ident(base_url="http://a:1/v1", api_key_env="A", timeout_s=5.0, concurrency=2)
    assert a == ident(base_url="http://b:2/v1", api_key_env="B", timeout_s=50.0, concurrency=64)
    assert a != ident(base_url="http://a:1/v1", model="another-teacher")
