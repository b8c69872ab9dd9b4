"""BFCL's file layout lives in one module (eval/bfcl_layout.py): its paths are BFCL's, and no other source file
spells the version prefix.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_bfcl_layout.py
"""

from __future__ import annotations

import ast
from pathlib import Path

from funreason.eval import bfcl_layout as layout

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {"tests", ".venv", ".git", "runs", "build", "node_modules"}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (documentation may show file names)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def prefix_literals(source: str) -> list[int]:
    """Line numbers of string literals (f-string parts included, docstrings not) that hold the version prefix."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and layout.VERSION_PREFIX in node.value
    ]


def test_the_scan_finds_a_prefix_literal():
    code = 'def f(cat):\n    """BFCL_v4_x.json in a docstring is fine."""\n    return f"BFCL_v4_{cat}_result.json"\n'
    assert prefix_literals(code) == [3]
    assert prefix_literals('NAME = "BFCL_v4"\n') == [1]
    assert prefix_literals('"""BFCL_v4_base.json"""\nNAME = layout.result_file_name("base")\n') == []


def test_no_version_prefix_outside_the_layout_module():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts[:-1]) or path == Path(layout.__file__).resolve():
            continue
        found += [f"{rel}:{line}" for line in prefix_literals(path.read_text(encoding="utf-8"))]
    assert found == [], f"BFCL's version prefix spelled outside eval/bfcl_layout.py: {found}"


def test_paths_are_bfcls(tmp_path):
    m = tmp_path / "model"
    expected = {
        "base": "multi_turn/BFCL_v4_multi_turn_base_result.json",
        "multi_turn_long_context": "multi_turn/BFCL_v4_multi_turn_long_context_result.json",
        "synthheld": "multi_turn/BFCL_v4_multi_turn_synthheld_result.json",  # a question file's own category
        "simple_python": "non_live/BFCL_v4_simple_python_result.json",
        "java": "non_live/BFCL_v4_simple_java_result.json",  # v3's name
        "live_relevance": "live/BFCL_v4_live_relevance_result.json",
        "format_sensitivity": "format_sensitivity/BFCL_v4_format_sensitivity_result.json",
        "memory_kv": "agentic/memory/kv/BFCL_v4_memory_kv_result.json",
        "memory_rec_sum_prereq": "agentic/memory/rec_sum/BFCL_v4_memory_rec_sum_prereq_result.json",
        "web_search_no_snippet": "agentic/BFCL_v4_web_search_no_snippet_result.json",
    }
    for category, rel in expected.items():
        assert layout.result_path(m, category) == m / rel, category
        assert layout.score_path(m, category) == m / rel.replace("_result.json", "_score.json"), category
    assert layout.snapshot_dir(m, "memory_vector_prereq") == m / "agentic/memory/vector/memory_snapshot"
    kinds = {c: layout.kind_of(c) for c in ("base", "synthheld", "simple", "format_sensitivity", "memory_kv_prereq")}
    assert kinds == {
        "base": "multi_turn",
        "synthheld": "multi_turn",
        "simple": "single_turn",
        "format_sensitivity": "single_turn",
        "memory_kv_prereq": "agentic",
    }


def test_inference_error_marker():
    row = layout.inference_error("prompt of 9 tokens does not fit")
    assert row == "Error during inference: prompt of 9 tokens does not fit" and layout.is_inference_error(row)
    assert not layout.is_inference_error([["[f()]"]]) and not layout.is_inference_error("plain text")
