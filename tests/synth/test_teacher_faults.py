"""Retried teacher faults are counted by kind in stats.json.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_teacher_faults.py
"""

from __future__ import annotations

import json


def test_retried_teacher_faults_are_counted_by_kind_in_stats(tmp_path):
    import threading

    from funreason.core.sections.synth import SynthConfig
    from funreason.synth.pipeline import run

    from tests.fake_openai import FakeOpenAIServer, Fault
    from tests.synth.test_teachers import TemplateOverHTTP, fast_config

    lock, state = threading.Lock(), {"n": 0, "served": {"http_5xx": 0, "http_4xx": 0}}

    def responder(endpoint, request):
        with lock:
            n = state["n"] = state["n"] + 1
            if n % 5 == 0:
                state["served"]["http_5xx"] += 1
                return Fault(status=503)
            if n % 7 == 0:
                state["served"]["http_4xx"] += 1
                return Fault(status=429)  # rate limited: retried
        return request["fake_reply"]

    with FakeOpenAIServer(responder) as server:
        teacher_cfg = fast_config(server.base_url, max_retries=3, timeout_s=5, concurrency=1)
        config = SynthConfig(environments=["GorillaFileSystem"], num_trajectories=3, teacher=teacher_cfg)
        summary = run(config, tmp_path, seed=0, teacher=TemplateOverHTTP(teacher_cfg), progress=False)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert summary["accepted"] == 3 and not any(k.startswith("teacher:") for k in stats["rejection_reasons"])
    retried = stats["teacher_retries"]
    assert sum(retried.values()) == sum(state["served"].values()) > 0, (retried, state)
    assert retried.get("http_5xx", 0) == state["served"]["http_5xx"] > 0
