"""The lockstep runner: BFCL's multi-turn loop (turns, steps, force-quit, holdouts), lockstep batching, result files,
resume, every episode kind in one run, and entries that wait on others (depends_on).

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_runner.py
"""

from __future__ import annotations

import json

import pytest
from funreason.chat.holdout import HOLDOUT_FC, HOLDOUT_PROMPTING
from funreason.core.sections.chat import ChatOptions
from funreason.envs import bfcl
from funreason.eval.backends import GenRequest, ScriptedBackend, ground_truth_script
from funreason.eval.bfcl_layout import result_path as result_file
from funreason.eval.multi_turn import MAXIMUM_STEP_LIMIT
from funreason.eval.runner import LockstepRunner
from funreason.eval.tasks import load_tasks


def rows_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_constants_match_installed_bfcl():
    bfcl.ensure_project_root()
    from bfcl_eval.constants import default_prompts as dp

    assert MAXIMUM_STEP_LIMIT == dp.MAXIMUM_STEP_LIMIT
    assert HOLDOUT_FC == dp.DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC
    assert HOLDOUT_PROMPTING == dp.DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING


def test_tasks_filters_and_provenance():
    tasks = load_tasks(["base", "miss_func"], ids=["multi_turn_base_3", "multi_turn_miss_func_0"])
    assert [e["id"] for e in tasks.all_entries()] == ["multi_turn_base_3", "multi_turn_miss_func_0"]
    assert tasks.provenance["bfcl_eval"] == bfcl.bfcl_version()
    assert all(len(h) == 64 for h in tasks.provenance["files"].values())
    assert len(load_tasks(["miss_param"], limit=3)) == 3
    assert tasks.ground_truth["miss_func"]["multi_turn_miss_func_0"][2] == []


def test_tasks_from_path_match_installed_loader(tmp_path):
    """A BFCL-format JSONL read from a path gets `function`/`missed_function` exactly as BFCL's loader builds them."""
    bfcl.ensure_project_root()
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH

    q = PROMPT_PATH / "BFCL_v4_multi_turn_miss_func.json"
    a = POSSIBLE_ANSWER_PATH / "BFCL_v4_multi_turn_miss_func.json"
    qf, af = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    qf.write_text("".join(q.read_text().splitlines(keepends=True)[:5]))
    af.write_text("".join(a.read_text().splitlines(keepends=True)[:5]))
    mine = load_tasks(question_file=qf, answer_file=af, limit=4)
    official = bfcl.load_entries("miss_func")[:4]
    for m, o in zip(mine.entries["miss_func"], official):
        assert m["function"] == o["function"] and m["missed_function"] == o["missed_function"]
    assert len(mine.ground_truth["miss_func"]) == 4 and str(qf) in mine.provenance["files"]


def test_scoring_loader_matches_installed_loader():
    """eval.score reads each func-doc file once instead of once per entry; the entries must be BFCL's own."""
    from funreason.envs import bfcl
    from funreason.eval.score_multi_turn import load_scoring_entries

    for cat in bfcl.MULTI_TURN_CATEGORIES:
        ours, names = load_scoring_entries(cat)
        theirs = bfcl.load_entries(cat, language_hint=False)
        assert [e["id"] for e in ours] == [e["id"] for e in theirs]
        for a, b in zip(ours, theirs):
            held = [d for docs in (b.get("missed_function") or {}).values() for d in docs]
            assert names[a["id"]] == {d["name"] for d in b["function"] + held}
            assert a == {k: v for k, v in b.items() if k != "function"}


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_ground_truth_replay_scores_100(tiny_tokenizer, tmp_path, fmt):
    tasks = load_tasks(["base", "miss_func", "miss_param", "long_context"], limit=3)
    entries = tasks.all_entries()
    gt = {k: v for cat in tasks.ground_truth.values() for k, v in cat.items()}
    backend = ScriptedBackend(ground_truth_script(entries, gt, fmt))
    runner = LockstepRunner(backend, tiny_tokenizer, ChatOptions(tool_format=fmt), in_flight=6, progress=False)
    stats = runner.run(tasks.entries, tmp_path / "result" / "replay")
    assert stats["errors"] == 0
    # Lockstep: the first tick carries every entry in flight together.
    assert backend.calls[0] == 6 and max(backend.calls) == 6
    for cat, cat_entries in tasks.entries.items():
        rows = rows_of(result_file(tmp_path / "result" / "replay", cat))
        assert [r["id"] for r in rows] == [e["id"] for e in cat_entries]
        for row, entry in zip(rows, cat_entries):
            assert set(row) >= {"id", "result", "input_token_count", "output_token_count", "latency", "inference_log"}
            assert len(row["result"]) == len(entry["question"])  # list[turn][step]
            for turn, steps in enumerate(row["result"]):
                assert len(steps) == (2 if gt[row["id"]][turn] else 1)
                assert len(row["input_token_count"][turn]) == len(steps) == len(row["latency"][turn])
                assert all(isinstance(s, str) for s in steps)
    from funreason.eval.score import score_results

    summary = score_results(tmp_path / "result", tmp_path / "score", fmt, categories=list(tasks.entries))
    accs = {c: v["accuracy"] for c, v in summary["models"]["replay"]["categories"].items()}
    assert accs == {f"multi_turn_{c}": 1.0 for c in tasks.entries}, accs


def test_force_quit_after_20_tool_steps(tiny_tokenizer, tmp_path):
    entries = load_tasks(["base"], ids=["multi_turn_base_0"]).all_entries()
    assert len(entries[0]["question"]) > 1
    backend = ScriptedBackend(lambda r: "[pwd()]")
    LockstepRunner(backend, tiny_tokenizer, ChatOptions(), progress=False).run(entries, tmp_path)
    (row,) = rows_of(result_file(tmp_path, "base"))
    assert len(row["result"]) == 1  # remaining turns skipped
    assert len(row["result"][0]) == MAXIMUM_STEP_LIMIT + 1
    turn_logs = [x for x in row["inference_log"] if isinstance(x, dict)]
    last_step = turn_logs[0][f"step_{MAXIMUM_STEP_LIMIT}"]
    assert last_step[-1]["content"] == f"Model has been forced to quit after {MAXIMUM_STEP_LIMIT} steps."


def test_turn_ends_on_undecodable_reply(tiny_tokenizer, tmp_path):
    entries = load_tasks(["base"], ids=["multi_turn_base_1"]).all_entries()
    backend = ScriptedBackend(lambda r: "[pwd()]" if r.key[2] == 0 else "[unclosed(")
    LockstepRunner(backend, tiny_tokenizer, ChatOptions(), progress=False).run(entries, tmp_path)
    (row,) = rows_of(result_file(tmp_path, "base"))
    assert [len(t) for t in row["result"]] == [2] * len(entries[0]["question"])
    turn_logs = [x for x in row["inference_log"] if isinstance(x, dict)]
    assert turn_logs[0]["step_1"][-1]["content"].startswith("Error decoding")


@pytest.mark.parametrize("fmt,holdout", [("pythonic", "tools"), ("hermes", "tools"), ("hermes", "message")])
def test_miss_func_holdout_announcement(tiny_tokenizer, tmp_path, fmt, holdout):
    entries = load_tasks(["miss_func"], ids=["multi_turn_miss_func_0"]).all_entries()
    entry = entries[0]
    ((turn, held),) = entry["missed_function"].items()
    turn = int(turn)
    seen: dict[tuple, GenRequest] = {}

    def script(r):
        seen[r.key] = r
        return "I can not do that."

    runner = LockstepRunner(
        ScriptedBackend(script), tiny_tokenizer, ChatOptions(tool_format=fmt, hermes_holdout=holdout), progress=False
    )
    runner.run(entries, tmp_path)
    before, at = seen[(entry["id"], turn - 1, 0)].text, seen[(entry["id"], turn, 0)].text
    name = held[0]["name"]
    doc_marker = json.dumps(held[0]["name"])  # how a doc's name shows in a JSON tool list
    if fmt == "pythonic" or holdout == "message":
        message = HOLDOUT_PROMPTING.format(functions=held)
        assert message.startswith(repr(held)) and message in at and message not in before
    else:
        assert HOLDOUT_FC in at and repr(held) not in at
        system_at = at.split("<|im_start|>user")[0]
        assert doc_marker in system_at and f'"name": "{name}"' not in before.split("<|im_start|>user")[0]
    (row,) = rows_of(result_file(tmp_path, "miss_func"))
    turn_logs = [x for x in row["inference_log"] if isinstance(x, dict)]
    assert turn_logs[turn]["begin_of_turn_query"][0]["content"] in at


def test_context_overflow_is_an_inference_error_and_others_go_on(tiny_tokenizer, tmp_path):
    entries = load_tasks(["base"], limit=40).all_entries()
    opts = ChatOptions()
    from funreason.chat.render import render_prompt

    sizes = {e["id"]: len(render_prompt(tiny_tokenizer, e["question"][0], e["function"], opts).ids) for e in entries}
    small, big = min(sizes, key=sizes.get), max(sizes, key=sizes.get)
    assert sizes[big] - sizes[small] > 500  # GorillaFileSystem alone vs two classes (tiny tokens: ~650 vs ~1.4k)
    chosen = [e for e in entries if e["id"] in (small, big)]
    backend = ScriptedBackend(lambda r: "Nothing to do.")
    limit = (sizes[small] + sizes[big]) // 2  # room for the small entry's later turns, not for the big prompt
    LockstepRunner(backend, tiny_tokenizer, opts, max_context=limit, max_new_tokens=4096, progress=False).run(
        chosen, tmp_path
    )
    rows = {r["id"]: r for r in rows_of(result_file(tmp_path, "base"))}
    assert rows[big]["result"].startswith("Error during inference: ") and "context" in rows[big]["result"]
    assert isinstance(rows[small]["result"], list) and len(rows[small]["result"]) > 1


def test_resume_after_kill_does_not_redo_finished_entries(tiny_tokenizer, tmp_path):
    tasks = load_tasks(["base"], limit=5)
    entries = tasks.all_entries()
    calls = {"n": 0}

    def dying(r):
        calls["n"] += 1
        if calls["n"] > 6:  # entries need 1 step per turn; the kill lands mid-way through the third entry
            raise KeyboardInterrupt
        return "No calls."

    runner = LockstepRunner(ScriptedBackend(dying), tiny_tokenizer, ChatOptions(), in_flight=1, progress=False)
    with pytest.raises(KeyboardInterrupt):
        runner.run(tasks.entries, tmp_path)
    path = result_file(tmp_path, "base")
    done = [r["id"] for r in rows_of(path)]
    assert 0 < len(done) < 5
    with open(path, "a") as f:  # a write torn by the kill
        f.write('{"id": "multi_turn_base_4", "resu')
    asked = set()

    def record(r):
        asked.add(r.key[0])
        return "No calls."

    runner = LockstepRunner(ScriptedBackend(record), tiny_tokenizer, ChatOptions(), in_flight=2, progress=False)
    stats = runner.run(tasks.entries, tmp_path, resume=True)
    assert stats["skipped_done"] == len(done)
    assert asked == {e["id"] for e in entries} - set(done)
    rows = rows_of(path)
    assert [r["id"] for r in rows] == [e["id"] for e in entries]  # each once, sorted


def test_whole_loop_with_tiny_model_hf(tiny_model_dir, tiny_tokenizer, tmp_path):
    from funreason.eval.backends import Sampling
    from funreason.eval.backends.hf import HFBackend

    tasks = load_tasks(["base"], ids=["multi_turn_base_0", "multi_turn_base_1"])
    backend = HFBackend(str(tiny_model_dir), tiny_tokenizer, Sampling(), micro_batch_size=2)
    runner = LockstepRunner(backend, tiny_tokenizer, ChatOptions(), max_new_tokens=6, in_flight=2, progress=False)
    stats = runner.run(tasks.entries, tmp_path)
    rows = rows_of(result_file(tmp_path, "base"))
    assert [r["id"] for r in rows] == ["multi_turn_base_0", "multi_turn_base_1"] and stats["errors"] == 0
    for row, entry in zip(rows, tasks.all_entries()):
        assert len(row["result"]) == len(entry["question"])
        assert all(0 < n <= 6 for turn in row["output_token_count"] for n in turn)
        assert all(n > 500 for turn in row["input_token_count"] for n in turn)  # the whole BFCL prompt


def test_one_run_drives_every_kind_with_one_stats_shape(tiny_tokenizer, tmp_path):
    """Multi-turn and single-turn entries in one run: each category's rows in BFCL's layout, one batch per tick
    across kinds, totals that are the sum of the per-kind counts, and a broken entry failing alone."""
    from funreason.eval.single_run import load_single_turn

    multi = load_tasks(["base"], limit=2).entries
    single = load_single_turn(["simple_python"], limit=3)
    broken = {"id": "multi_turn_miss_param_0", "question": [[{"role": "user", "content": "hi"}]]}  # no classes
    backend = ScriptedBackend(lambda request: "No calls.")
    runner = LockstepRunner(backend, tiny_tokenizer, ChatOptions(), in_flight=8, progress=False)
    stats = runner.run({**multi, "miss_param": [broken], **single}, tmp_path)
    assert [r["id"] for r in rows_of(result_file(tmp_path, "base"))] == ["multi_turn_base_0", "multi_turn_base_1"]
    assert len(rows_of(result_file(tmp_path, "simple_python"))) == 3
    (failed,) = rows_of(result_file(tmp_path, "miss_param"))
    assert failed["result"].startswith("Error during inference: KeyError") and "traceback" in failed
    assert backend.calls[0] == 5  # the first tick holds both kinds: 2 multi-turn + 3 single-turn prompts
    kinds = stats["kinds"]
    assert kinds["single_turn"]["entries"] == 3 and kinds["single_turn"]["steps"] == 3
    assert kinds["multi_turn"]["entries"] == 3 and kinds["multi_turn"]["errors"] == 1
    for key in ("entries", "steps", "errors", "prompt_tokens", "completion_tokens", "skipped_done"):
        assert stats[key] == sum(k[key] for k in kinds.values()), key


def test_entries_start_after_those_they_depend_on(tiny_tokenizer, tmp_path):
    """An entry whose `depends_on` names entries of the run starts only once those have rows, whatever the batch
    room; dependencies outside the run, or already done on resume, do not hold it back."""
    tasks = load_tasks(["base"], limit=4)
    a, b, c, d = (dict(e) for e in tasks.all_entries())
    c["depends_on"] = [a["id"], b["id"]]
    b["depends_on"] = [a["id"], "multi_turn_base_999"]  # the second is not in this run
    first_step: dict[str, int] = {}  # entry id -> the tick (backend call) of its first step

    def script(request):
        first_step.setdefault(request.key[0], len(backend.calls) - 1)
        return "No calls."

    backend = ScriptedBackend(script)
    turns = {e["id"]: len(e["question"]) for e in (a, b, c, d)}
    LockstepRunner(backend, tiny_tokenizer, ChatOptions(), in_flight=8, progress=False).run([a, b, c, d], tmp_path)
    assert first_step[a["id"]] == first_step[d["id"]] == 0  # free entries start at once
    assert first_step[b["id"]] == turns[a["id"]]  # one "No calls." step per turn: a takes that many ticks
    assert first_step[c["id"]] == turns[a["id"]] + turns[b["id"]]
    # on resume, a dependency already in the file counts as done
    rows = rows_of(result_file(tmp_path, "base"))
    result_file(tmp_path, "base").write_text("".join(json.dumps(r) + "\n" for r in rows if r["id"] != c["id"]))
    first_step.clear()
    backend.calls.clear()
    LockstepRunner(backend, tiny_tokenizer, ChatOptions(), in_flight=8, progress=False).run(
        [a, b, c, d], tmp_path, resume=True
    )
    assert set(first_step) == {c["id"]} and first_step[c["id"]] == 0
