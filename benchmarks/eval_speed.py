"""Evaluation speed, each figure against a baseline measured in the same run. Prints; asserts nothing.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/eval_speed.py                    # full: 800 + 64 entries
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/eval_speed.py --per-category 20 --entries 8   # quick
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/eval_speed.py --skip b --formats pythonic,fc --single-turn
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/eval_speed.py --vocab tiny      # (b) on the project's 4k tokenizer

(a) scoring: our harness (eval.score.score_results) vs BFCL's official checker (bfcl_eval's multi_turn_runner with
    its Qwen prompting handler) over the same ground-truth replay result files (200 per category = 800 entries,
    written by the runner with a scripted backend). Ratio = ours / official (target <= 0.5). Ours is timed twice,
    as `funreason score` runs by default (one worker process per usable CPU, up to 8, each scoring whole result
    files) and in one process (`--workers 1`); the official checker runs in one process, as `bfcl evaluate` does.
    `--formats ...,fc` adds the same replay in BFCL's FC layout (`[{name: "<JSON args>"}]` steps plus a closing text
    step per turn, written here) against the official FC decoder (`convert_to_function_call`) + checker.
    `--single-turn` adds every single-turn category (non-live Python/Java/JavaScript, live, irrelevance,
    relevance; 3,591 entries) with outputs made from the ground truth (plus a refusal for irrelevance) in each
    chosen format, against BFCL's `_evaluate_single_ast_entry` / `_evaluate_single_relevance_entry` with that
    format's handler (imported through tests/bfcl_official.py, which stands in for BFCL's vendor-SDK registry).
(b) generation: the lockstep runner (all entries in flight, one batched backend call per tick) vs one entry at a
    time, with the tiny model through the hf backend. Speed-up = one-at-a-time / lockstep (target >= 4x).
    The tiny model is built on Qwen3-4B-Instruct-2507's real tokenizer (`funreason tiny --vocab qwen3`), so prompt
    lengths, prompt/completion token counts and tokens/s are in real Qwen3 tokens, and each decoded token pays for a
    151k-vocabulary head as a real Qwen3 model's does.
    Both sides use the same backend (hf: unpadded prefill with prefix-KV reuse, batched decode; or vllm with
    `--backend vllm`, run from the vllm venv, one engine whose prefix cache is emptied before each side), so they do
    the same prefill work; the gap is decode batching. On a 2-core CPU about half of the lockstep time is prefilling
    BFCL's 8-13k-token prompts (the same work on both sides) and a decode step is bound by reading each row's KV
    cache, which batching does not shrink; the 4x is a GPU figure, where a step's cost is launch overhead.

    .venv-vllm/bin/python benchmarks/eval_speed.py --skip a --backend vllm     # (b) through vLLM (CPU or GPU)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

CATEGORIES = ["base", "miss_func", "miss_param", "long_context"]
REPEATS = 3


def replay(tokenizer, tasks, out: Path) -> float:
    from funreason.core.sections.chat import ChatOptions
    from funreason.eval.backends import ScriptedBackend, ground_truth_script
    from funreason.eval.runner import LockstepRunner

    gt = {k: v for cat in tasks.ground_truth.values() for k, v in cat.items()}
    backend = ScriptedBackend(ground_truth_script(tasks.all_entries(), gt, "pythonic"))
    t = time.perf_counter()
    LockstepRunner(backend, tokenizer, ChatOptions(), in_flight=64, state_log=False).run(tasks.entries, out)
    return time.perf_counter() - t


def _stub_parsers() -> None:
    """bfcl_eval.model_handler.utils imports its Java/JavaScript parsers (tree_sitter, not installed: bfcl-eval is
    installed --no-deps). Multi-turn decoding never uses them, so empty stand-ins are enough."""
    import sys
    import types
    from unittest.mock import MagicMock

    for name in ("tree_sitter", "tree_sitter_java", "tree_sitter_javascript"):
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                mod = types.ModuleType(name)
                mod.Language = mod.Parser = mod.language = MagicMock()
                sys.modules[name] = mod


def official_checker(tasks, model_result_dir: Path, run: int = 0) -> tuple[float, int]:
    """BFCL's evaluation of multi-turn rows (eval_runner._evaluate_single_multi_turn_entry, inlined because
    importing eval_runner pulls every API client): decode each step with the prompting decoder, then
    multi_turn_checker. Returns (seconds, entries judged valid). `run` names the model: BFCL keeps each model's
    backend instances in globals(), so a repeat under the same name would reuse (and skip building) them."""
    import json

    _stub_parsers()
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import is_empty_execute_response
    from bfcl_eval.model_handler.utils import default_decode_execute_prompting
    from funreason.eval.bfcl_layout import result_path as result_file

    valid = 0
    t = time.perf_counter()
    for cat, entries in tasks.entries.items():
        rows = {r["id"]: r for r in map(json.loads, result_file(model_result_dir, cat).read_text().splitlines())}
        for entry in entries:
            result, gt = rows[entry["id"]]["result"], tasks.ground_truth[cat][entry["id"]]
            if not isinstance(result, list) or len(result) != len(gt):
                continue
            decoded = []
            for turn in result:
                steps = []
                for item in turn:
                    try:
                        calls = default_decode_execute_prompting(item, has_tool_call_tag=False)
                    except Exception:
                        continue
                    if not is_empty_execute_response(calls):
                        steps.append(calls)
                decoded.append(steps)
            out = multi_turn_checker(decoded, gt, entry, f"multi_turn_{cat}", f"bench_{os.getpid()}_{run}")
            valid += bool(out["valid"])
    return time.perf_counter() - t, valid


def official_evaluate(model_dir: Path, handler, model_name: str, score_dir: Path) -> float:
    """What `bfcl evaluate` does with one model's result files, minus its CLI and model registry (eval_runner
    .runner's loop): `load_file` each result file, `evaluate_task` (loads BFCL's entries and answers, checks every
    row, writes the score file), then `update_leaderboard_table_with_local_score_file` and
    `generate_leaderboard_csv`. The same work as our `score` run. Returns seconds."""
    import contextlib
    import io

    from funreason.eval import bfcl_layout as layout

    official, _ = _tests_helpers()
    official.register_model(model_name, underscore_to_dot=handler is official.api_fc())
    table: dict = {}
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        for path in sorted(model_dir.rglob(layout.RESULT_GLOB)):
            category = layout.RESULT_NAME.match(path.name).group(1)
            rows = official.load_file(path, sort_by_id=True)
            table = official.evaluate_task(  # allow_missing: `--partial-eval`, for --per-category runs
                category, model_dir.parent, score_dir, rows, model_name, handler, table, allow_missing=True
            )
        official.update_leaderboard_table_with_local_score_file(table, score_dir)
        official.generate_leaderboard_csv(table, score_dir)
    return time.perf_counter() - t


def _time_ours(score, out: Path) -> tuple[float, float, dict]:
    """Our whole `score` run, cold, twice: with its default worker processes, then in one process.
    Returns (default seconds, one-process seconds, summary)."""
    times = []
    for workers in (None, 1):
        _clear_caches()
        t = time.perf_counter()
        summary = score(out / f"w{workers}", workers)
        times.append(time.perf_counter() - t)
    return times[0], times[1], summary


def _ratio_line(label: str, ours: list[float], serial: list[float], evaluate: list[float], checker: list[float]) -> str:
    from funreason.core.parallel import usable_cpus
    from funreason.eval.score import MAX_WORKERS

    best, check = min(evaluate), min(checker)
    return (
        f"(a) {label} (best of {REPEATS}): official `bfcl evaluate` work {best:.2f} s, its checker alone {check:.2f} s; "
        f"ours with {min(usable_cpus(), MAX_WORKERS)} worker processes {min(ours):.2f} s, ratio ours/official = "
        f"{min(ours) / best:.2f} (target <= 0.5; vs checker alone {min(ours) / check:.2f}); ours in one process "
        f"{min(serial):.2f} s, ratio {min(serial) / best:.2f} (vs checker alone {min(serial) / check:.2f})"
    )


def part_a(tokenizer, per_category: int | None, tmp: Path) -> None:
    from funreason.eval.score import score_results
    from funreason.eval.tasks import load_tasks

    tasks = load_tasks(CATEGORIES, limit=per_category)
    model_dir = tmp / "result" / "replay"
    t_replay = replay(tokenizer, tasks, model_dir)
    official_handler = _tests_helpers()[0].prompting_handler()
    ours, serial, evaluate, official = [], [], [], []
    for run in range(REPEATS):  # interleaved, best of each: the machine is shared
        t_ours, t_serial, summary = _time_ours(
            lambda out, w: score_results(tmp / "result", out, "pythonic", categories=CATEGORIES, workers=w),
            tmp / f"score{run}",
        )
        ours.append(t_ours)
        serial.append(t_serial)
        evaluate.append(official_evaluate(model_dir, official_handler, f"bench_mt_{run}", tmp / f"bfcl_mt{run}"))
        seconds, official_valid = official_checker(tasks, model_dir, run)
        official.append(seconds)
    accs = {c: v["accuracy"] for c, v in summary["models"]["replay"]["categories"].items()}
    print(
        f"(a) ground-truth replay of {len(tasks)} entries: runner {t_replay:.1f} s; ours {accs}; official valid "
        f"{official_valid}/{len(tasks)}"
    )
    print(
        "(a) ours = score_results: load entries + ground truth, read + decode result files, check, write score files, "
        "diagnostics.json, CSVs; official = the same work by bfcl_eval (official_evaluate), and its checker alone: "
        "read + decode result files, check (entries preloaded, writes nothing)"
    )
    print(_ratio_line("multi-turn pythonic scoring", ours, serial, evaluate, official))


def _tests_helpers():
    """tests/bfcl_official.py (BFCL's own functions, importable without its vendor SDKs) and the test outputs."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import bfcl_ast_damage
    import bfcl_official

    return bfcl_official, bfcl_ast_damage


def _fc_replay(per_category: int | None, model_dir: Path) -> dict:
    """Ground truth in FC layout (one call step + a closing text step per turn); returns {category: entries}."""
    import inspect
    import json

    from funreason.envs import bfcl
    from funreason.envs.dispatch import parse_call
    from funreason.eval.bfcl_layout import result_file_name

    out = {}
    d = model_dir / "multi_turn"
    d.mkdir(parents=True, exist_ok=True)
    for cat in CATEGORIES:
        name = bfcl.category_name(cat)
        gt = bfcl.load_ground_truth(cat)
        entries = bfcl.load_entries(cat, language_hint=False)[:per_category]
        rows = []
        for entry in entries:
            instances = bfcl.new_backends(entry["initial_config"], entry["involved_classes"])
            turns = []
            for calls in gt[entry["id"]]:
                step = []
                for text in calls:
                    call = parse_call(text)
                    args = dict(call.arguments)
                    if call.positional:  # name positional ground-truth arguments through the method's signature
                        method = next(getattr(i, call.name) for i in instances.values() if hasattr(i, call.name))
                        args = {**dict(zip(inspect.signature(method).parameters, call.positional)), **args}
                    step.append({call.name: json.dumps(args)})
                turns.append(([step] if step else []) + ["Done."])
            rows.append({"id": entry["id"], "result": turns})
        (d / result_file_name(name)).write_text("".join(json.dumps(r) + "\n" for r in rows))
        out[cat] = entries
    return out


def official_fc_checker(entries_by_cat: dict, model_dir: Path, run: int) -> tuple[float, int]:
    """BFCL's FC evaluation of the FC-layout files: convert_to_function_call per step, then multi_turn_checker."""
    import json

    from funreason.envs import bfcl
    from funreason.eval import bfcl_layout as layout

    official, _ = _tests_helpers()
    valid = 0
    t = time.perf_counter()
    for cat, entries in entries_by_cat.items():
        name = bfcl.category_name(cat)
        gt = bfcl.load_ground_truth(cat)
        rows = {r["id"]: r for r in map(json.loads, layout.result_path(model_dir, name).open())}
        for entry in entries:
            result = rows[entry["id"]]["result"]
            decoded = []
            for turn in result:
                steps = []
                for item in turn:
                    try:
                        calls = official.convert_to_function_call(item)
                    except Exception:
                        continue
                    if not official.is_empty_execute_response(calls):
                        steps.append(calls)
                decoded.append(steps)
            out = official.multi_turn_checker(decoded, gt[entry["id"]], entry, name, f"bench_fc_{os.getpid()}_{run}")
            valid += bool(out["valid"])
    return time.perf_counter() - t, valid


def part_a_fc(per_category: int | None, tmp: Path) -> None:
    from funreason.eval.score import score_results

    entries = _fc_replay(per_category, tmp / "result_fc" / "replay_fc")
    n = sum(len(v) for v in entries.values())
    handler = _tests_helpers()[0].api_fc()
    ours, serial, evaluate, official = [], [], [], []
    for run in range(REPEATS):
        t_ours, t_serial, summary = _time_ours(
            lambda out, w: score_results(tmp / "result_fc", out, "fc", categories=CATEGORIES, workers=w),
            tmp / f"score_fc{run}",
        )
        ours.append(t_ours)
        serial.append(t_serial)
        evaluate.append(
            official_evaluate(tmp / "result_fc" / "replay_fc", handler, f"bench_fc_{run}", tmp / f"bfcl_fc{run}")
        )
        seconds, official_valid = official_fc_checker(entries, tmp / "result_fc" / "replay_fc", run)
        official.append(seconds)
    correct = sum(v["correct_count"] for v in summary["models"]["replay_fc"]["categories"].values())
    print(f"(a) fc: ground truth in FC layout, {n} entries: ours {correct}/{n} valid, official {official_valid}/{n}")
    print(_ratio_line("multi-turn fc scoring", ours, serial, evaluate, official))


def _single_turn_files(fmt: str, root: Path) -> dict:
    """One result file per single-turn category, outputs made from the ground truth in `fmt`."""
    import json
    import random

    from funreason.eval.ast_checker import language_of
    from funreason.eval.bfcl_layout import result_path
    from funreason.eval.single_turn import CATEGORIES as SINGLE
    from funreason.eval.single_turn import load_category

    _, damage = _tests_helpers()
    rng = random.Random(0)
    files = {}
    for cat in SINGLE:
        entries, gt = load_category(cat)
        rows = []
        for entry_id, entry in entries.items():
            if cat in ("irrelevance", "live_irrelevance"):
                raw = "None of the given functions can answer this."
            elif cat == "live_relevance":
                raw = damage.relevance_output(entry, fmt, rng)
            else:
                raw = damage.model_output(entry, gt[entry_id], fmt, rng, language_of(cat), kind="none")
            rows.append({"id": entry_id, "result": json.loads(json.dumps(raw))})
        path = result_path(root, cat)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files[cat] = (entries, gt, rows)
    return files


def official_single_turn(files: dict, root: Path, fmt: str, run: int) -> tuple[float, int]:
    """BFCL's single-turn evaluation of the same rows (entries preloaded, nothing written)."""
    import json

    from funreason.eval.ast_checker import language_of
    from funreason.eval.bfcl_layout import result_path

    official, _ = _tests_helpers()
    handler = {"pythonic": official.prompting_handler, "hermes": official.qwen_fc, "fc": official.api_fc}[fmt]()
    model = official.register_model(f"bench_{fmt}_{run}", underscore_to_dot=fmt == "fc")
    valid = 0
    t = time.perf_counter()
    for cat, (entries, gt, _) in files.items():
        rows = [json.loads(line) for line in result_path(root, cat).open()]
        lang = language_of(cat).upper()
        for row in rows:
            entry = entries[row["id"]]
            if "relevance" in cat:
                v = official.evaluate_relevance_entry(handler, row["id"], row["result"], entry, model, cat)
            else:
                v = official.evaluate_ast_entry(
                    handler, row["id"], row["result"], gt[row["id"]], entry, model, cat,
                    language=official.Language[lang], return_format=official.ReturnFormat[lang],
                )  # fmt: skip
            valid += bool(v["valid"])
    return time.perf_counter() - t, valid


def part_a_single(fmt: str, tmp: Path) -> None:
    from funreason.eval.score import score_results

    root = tmp / f"result_st_{fmt}" / f"single_{fmt}"
    files = _single_turn_files(fmt, root)
    n = sum(len(rows) for _, _, rows in files.values())
    official = _tests_helpers()[0]
    handler = {"pythonic": official.prompting_handler, "hermes": official.qwen_fc, "fc": official.api_fc}[fmt]()
    ours, serial, inner, evaluate, official = [], [], [], [], []
    for run in range(REPEATS):
        t_ours, t_serial, summary = _time_ours(
            lambda out, w: score_results(root.parent, out, fmt, workers=w), tmp / f"score_st_{fmt}{run}"
        )
        ours.append(t_ours)
        serial.append(t_serial)
        evaluate.append(official_evaluate(root, handler, f"bench_st_{fmt}_{run}", tmp / f"bfcl_st_{fmt}{run}"))
        inner.append(_ours_single_turn_inner(files, root, fmt, summary["models"][root.name]["underscore_to_dot"]))
        seconds, official_valid = official_single_turn(files, root, fmt, run)
        official.append(seconds)
    correct = sum(v["correct_count"] for v in summary["models"][root.name]["categories"].values())
    print(f"(a) single-turn {fmt}: {n} entries, 13 categories: ours {correct}/{n} valid, official {official_valid}/{n}")
    print(_ratio_line(f"single-turn {fmt} scoring", ours, serial, evaluate, official))
    print(
        f"(a) single-turn {fmt}, like for like (read + decode + check in one process, nothing written, entries "
        f"preloaded): ours {min(inner):.2f} s, ratio {min(inner) / min(official):.2f}"
    )


def _ours_single_turn_inner(files: dict, root: Path, fmt: str, underscore_to_dot: bool) -> float:
    """What the official side does, done by ours: read each file, decode and check every row; nothing written."""
    from funreason.eval.bfcl_layout import result_path
    from funreason.eval.result_rows import read_results
    from funreason.eval.single_turn import score_single_turn

    t = time.perf_counter()
    for cat in files:
        path = result_path(root, cat)
        score_single_turn(path, cat, fmt, "bench", True, read_results(path), underscore_to_dot)
    return time.perf_counter() - t


def _clear_caches() -> None:
    """Our scorer memoizes decoded step texts per process: start every timed run cold, as the official side is."""
    from funreason.eval.step_decode import _decode_text

    _decode_text.cache_clear()


def _backends(kind: str, model_dir: str, tokenizer, micro: int):
    """(one-at-a-time backend, lockstep backend) factories: fresh hf backends (so no prefix cache carries over);
    one vLLM engine (starting one costs a minute) with its prefix cache emptied and a warm-up request first."""
    from funreason.eval.backends import Sampling

    if kind == "hf":
        from funreason.eval.backends.hf import HFBackend

        return (
            lambda: HFBackend(model_dir, tokenizer, Sampling(), micro_batch_size=1),
            lambda: HFBackend(model_dir, tokenizer, Sampling(), micro_batch_size=micro),
        )
    from funreason.eval.backends.vllm import VLLMBackend

    engine = VLLMBackend(model_dir, Sampling(), max_model_len=16384, dtype="float32")
    engine.llm.generate([{"prompt_token_ids": list(range(1, 200))}], use_tqdm=False)

    def fresh():
        engine.llm.reset_prefix_cache()
        return engine

    return fresh, fresh


def tokenizer_name(tokenizer) -> str:
    return "Qwen3 (real, 151,669)" if len(tokenizer) == 151669 else f"a {len(tokenizer):,}-token tokenizer"


def first_prompt_lengths(tokenizer, entries: list[dict]) -> list[int]:
    """Each entry's first prompt as the runner renders it (pythonic, BFCL's system prompt over its docs)."""
    from funreason.chat.render import render_prompt
    from funreason.core.sections.chat import ChatOptions

    return [len(render_prompt(tokenizer, e["question"][0], e["function"], ChatOptions()).ids) for e in entries]


def part_b(model_dir: str, tokenizer, entries: int, max_new_tokens: int, micro: int, tmp: Path, kind: str) -> None:
    from funreason.core.sections.chat import ChatOptions
    from funreason.eval.runner import LockstepRunner
    from funreason.eval.tasks import load_tasks

    tasks = load_tasks(["base"], limit=entries)
    lengths = first_prompt_lengths(tokenizer, tasks.entries["base"])
    print(
        f"(b) workload: {len(lengths)} entries, first-turn prompts of {sum(lengths) / len(lengths):,.0f} tokens on "
        f"average ({min(lengths):,}-{max(lengths):,}), in the tokens of {tokenizer_name(tokenizer)}"
    )
    one, lockstep = _backends(kind, model_dir, tokenizer, micro)
    times = {}
    for name, in_flight, make in (("one-at-a-time", 1, one), ("lockstep", entries, lockstep)):
        backend = make()
        runner = LockstepRunner(backend, tokenizer, ChatOptions(), max_new_tokens=max_new_tokens, in_flight=in_flight)
        t = time.perf_counter()
        stats = runner.run(tasks.entries, tmp / name)
        times[name] = time.perf_counter() - t
        print(
            f"(b) {name}: {times[name]:.1f} s, {stats['ticks']} backend calls, {stats['steps']} steps, "
            f"{stats['prompt_tokens']:,} prompt + {stats['completion_tokens']:,} completion tokens "
            f"({stats['completion_tokens'] / times[name]:.0f} completion tok/s)"
        )
    speedup = times["one-at-a-time"] / times["lockstep"]
    print(
        f"(b) lockstep vs one-at-a-time on {len(tasks)} entries, {kind} backend (max_new_tokens={max_new_tokens}): "
        f"{speedup:.2f}x (target >= 4x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-category", type=int, default=None, help="(a) entries per category (default 200).")
    parser.add_argument("--entries", type=int, default=64, help="(b) entries.")
    parser.add_argument(
        "--max-new-tokens", type=int, default=128, help="(b) tokens per step (BFCL replies run 50-500 tokens)."
    )
    parser.add_argument("--micro-batch", type=int, default=64, help="(b) hf rows decoded together in lockstep.")
    parser.add_argument("--model", help="(b) model dir (default: a tiny model built here).")
    parser.add_argument("--backend", choices=["hf", "vllm"], default="hf", help="(b) backend (vllm: the vllm venv).")
    parser.add_argument(
        "--vocab", choices=["qwen3", "tiny"], default="qwen3", help="(b) tokenizer of the built model (default qwen3)."
    )
    parser.add_argument("--skip", choices=["a", "b"], help="Skip one part.")
    parser.add_argument(
        "--formats", default="pythonic", help="(a) comma-separated: pythonic (the runner's replay), fc, hermes."
    )
    parser.add_argument("--single-turn", action="store_true", help="(a) also score all single-turn categories.")
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    from funreason.envs import bfcl
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bfcl.set_project_root(tmp / "bfcl_root")
        model = args.model
        if model is None:
            from funreason.fixtures.tiny import build

            # Without line tokens: prompt lengths as a real model's tokenizer gives them.
            model = str(build(tmp / "tiny", seed=0, line_tokens=False, vocab=args.vocab))
        tokenizer = AutoTokenizer.from_pretrained(model)
        if args.skip != "a":
            if "pythonic" in formats:
                part_a(tokenizer, args.per_category, tmp)
            if "fc" in formats:
                part_a_fc(args.per_category, tmp)
            if args.single_turn:
                for fmt in formats:
                    part_a_single(fmt, tmp)
        if args.skip != "b":
            part_b(model, tokenizer, args.entries, args.max_new_tokens, args.micro_batch, tmp, args.backend)


if __name__ == "__main__":
    main()
