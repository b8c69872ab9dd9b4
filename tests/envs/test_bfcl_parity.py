"""Our dispatcher on fresh instances vs BFCL's own eval()-based executor, on every multi-turn ground truth.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/envs/test_bfcl_parity.py

For all 800 entries (4 categories x 200), each ground-truth turn runs through `envs.dispatch.Dispatcher` on
`envs.bfcl.new_backends` and through `execute_multi_turn_func_call`; result strings must be byte-identical and
every instance's public state equal after every turn. Also checks the loaders against BFCL's constants and files.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from funreason.envs import bfcl
from funreason.envs.base import public_state, tool_docs, tool_names
from funreason.envs.dispatch import Dispatcher

from tests import bfcl_official as official

bfcl.ensure_project_root()
from bfcl_eval.constants import category_mapping, executable_backend_config  # noqa: E402


@pytest.mark.parametrize("category", bfcl.MULTI_TURN_CATEGORIES)
def test_ground_truth_replay_matches_bfcl_executor(category):
    entries = bfcl.load_entries(category)
    ground_truth = bfcl.load_ground_truth(category)
    long_context = bfcl.is_long_context(bfcl.category_name(category))
    assert len(entries) == 200 and set(ground_truth) == {e["id"] for e in entries}
    calls = errors = 0
    for entry in entries:
        ours = bfcl.new_backends(entry["initial_config"], entry["involved_classes"], long_context=long_context)
        dispatcher = Dispatcher(ours)
        # a fresh model name dodges BFCL's process-global instance cache; the context drops what it cached
        with official.instance_cache_cleared(f"funreason_parity_{uuid.uuid4().hex}") as model_name:
            for turn_index, turn in enumerate(ground_truth[entry["id"]]):
                got = dispatcher.execute_all(turn)
                want, theirs = official.execute_multi_turn_func_call(
                    turn, entry["initial_config"], entry["involved_classes"], model_name, entry["id"], long_context
                )
                where = f"{entry['id']} turn {turn_index}"
                assert got == want, where
                assert set(theirs) == set(ours), where
                for class_name, instance in theirs.items():
                    assert public_state(ours[class_name]) == public_state(instance), f"{where} {class_name}"
                calls += len(turn)
                errors += sum(r.startswith("Error during execution") for r in got)
    assert calls > 1000  # 4,625 ground-truth calls over the four categories
    assert errors < calls  # ground truth mostly succeeds; identical strings above cover the rest
    assert not official.cached_instances("funreason_parity_")


def test_tool_names_equal_bfcl_exposed_methods():
    for class_name in bfcl.BFCL_CLASSES:
        instance = bfcl.new_backends({}, [class_name])[class_name]
        exposed = sorted(n for n, _ in inspect.getmembers(instance, inspect.ismethod) if not n.startswith("_"))
        assert tool_names(instance) == exposed, class_name
        assert sorted(d["name"] for d in bfcl.func_docs([class_name])) == exposed, class_name


def test_generated_docs_reproduce_bfcl_compiled_docs():
    # BFCL compiles its docs from the same docstrings; ours differ only where its compiler has one-off quirks
    # (unstripped "[Optional]" in nested/return fields, a response key named "MA(5)").
    quirks = {("TicketAPI", "edit_ticket"), ("TradingBot", "get_stock_info"), ("VehicleControlAPI", "displayCarStatus")}
    for class_name in bfcl.BFCL_CLASSES:
        instance = bfcl.new_backends({}, [class_name])[class_name]
        ours = {d["name"]: d for d in tool_docs(instance)}
        for doc in bfcl.func_docs([class_name]):
            if (class_name, doc["name"]) in quirks:
                assert ours[doc["name"]]["parameters"]["required"] == doc["parameters"]["required"]
            else:
                assert ours[doc["name"]] == doc, (class_name, doc["name"])


def test_constants_match_bfcl():
    assert [f"multi_turn_{c}" for c in bfcl.MULTI_TURN_CATEGORIES] == category_mapping.MULTI_TURN_CATEGORY
    assert list(bfcl.BFCL_CLASSES) == list(executable_backend_config.CLASS_FILE_PATH_MAPPING)[:8]
    assert bfcl.bfcl_version() == "2026.3.23"
    assert bfcl.is_long_context("multi_turn_long_context") and not bfcl.is_long_context("multi_turn_base")
    with pytest.raises(Exception, match="unknown BFCL multi-turn category 'nope'"):
        bfcl.category_name("nope")
    with pytest.raises(Exception, match="unknown BFCL backend class 'Nope'"):
        bfcl.new_backends({}, ["Nope"])


def test_entries_follow_bfcl_population():
    entries = {e["id"]: e for e in bfcl.load_entries("miss_func")}
    entry = entries["multi_turn_miss_func_0"]
    all_docs = bfcl.func_docs(entry["involved_classes"])
    (turn, held_out), *_ = entry["missed_function"].items()
    held_names = {d["name"] for d in held_out}
    assert entry["question"][int(turn)] == [] and held_names
    # held-out docs are removed from `function`, kept whole (no language hint) in `missed_function`
    assert [d["name"] for d in entry["function"]] == [d["name"] for d in all_docs if d["name"] not in held_names]
    assert held_out == [d for d in all_docs if d["name"] in held_names]
    hint = " Note that the provided function is in Python 3 syntax."
    assert all(d["description"].endswith(hint) for d in entry["function"])
    plain = {e["id"]: e for e in bfcl.load_entries("miss_func", language_hint=False)}["multi_turn_miss_func_0"]
    assert not any(d["description"].endswith(hint) for d in plain["function"])
    for category in bfcl.MULTI_TURN_CATEGORIES:
        files = bfcl.data_files(category)
        assert len(files) == 10 and all(Path(f).is_file() for f in files)


def test_new_backends_fresh_and_never_mutates_config():
    entry = bfcl.load_entries("base")[0]
    config_before = repr(entry["initial_config"])
    a = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
    b = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
    Dispatcher(a).execute_all(bfcl.load_ground_truth("base")[entry["id"]][0])
    fs_a, fs_b = a["GorillaFileSystem"], b["GorillaFileSystem"]
    assert fs_a is not fs_b and public_state(fs_a) != public_state(fs_b)
    assert public_state(fs_b) == public_state(
        bfcl.new_backends(entry["initial_config"], ["GorillaFileSystem"])["GorillaFileSystem"]
    )
    assert repr(entry["initial_config"]) == config_before


def test_project_root_defaults_outside_site_packages(tmp_path):
    code = (
        "import os; from envs import bfcl; bfcl.load_ground_truth('base');"
        "import bfcl_eval.constants.eval_config as c; print(c.PROJECT_ROOT);"
        "import warnings; warnings.simplefilter('error')\n"
        "try:\n bfcl.set_project_root(os.environ['OTHER'])\nexcept UserWarning as w:\n print('warned', w)"
    )
    env = {k: v for k, v in os.environ.items() if k != "BFCL_PROJECT_ROOT"}
    env.update(FUNREASON_BFCL_ROOT=str(tmp_path / "root"), OTHER=str(tmp_path / "other"))
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, check=True)
    root, warned = out.stdout.splitlines()
    assert Path(root) == (tmp_path / "root").resolve()
    assert (tmp_path / "root" / "result").is_dir() and warned.startswith("warned")
    assert not (tmp_path / "other").exists()
