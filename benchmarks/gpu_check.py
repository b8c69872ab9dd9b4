"""The GPU rows of BENCHMARKS.md in one go: SFT tokens/s/GPU and MFU, eval lockstep vs one-at-a-time, GRPO step split.

    make gpu-check                                             # on a CUDA machine, < 8 min; writes runs/gpu_check.json
    python benchmarks/gpu_check.py --out runs/gpu_check.json   # the same
    python benchmarks/gpu_check.py --dry-run --out /tmp/g.json # CPU: the same code on the tiny shape, ~1-2 min
    python benchmarks/gpu_check.py --skip grpo --budget-s 300

Parts, each in its own process (a part that fails or runs out of time is a row saying so; the others still run),
on one GPU:
  sft   train/sft.py's pipeline (benchmarks/sft_throughput.py's `run`: chat.render examples, the fused head) on the
        qwen3-4b shape with random weights (`funreason tiny --shape qwen3-4b`, no download), bf16, flash attention
        2 with padding-free packing when flash_attn is installed, else sdpa with padded batches: tokens/s/GPU and
        MFU (6N + attention FLOPs per token over the GPU's dense bf16 peak).
  eval  the BFCL multi-turn runner on base entries with the vllm backend (one engine, bf16, prefix cache emptied
        between the two sides): every entry in flight with one batched call per tick (lockstep) vs one entry at
        a time, the same work; the speed-up is one-at-a-time / lockstep (target >= 4x).
  grpo  benchmarks/grpo_step.py (the smoke recipe's RL tasks, synthesized here by the template teacher) with the
        qwen3-4b-shaped policy and vLLM colocated (`use_vllm=true vllm_mode=colocate`): seconds per step split
        into generation, environment, rendering and optimization.
Prints one table and writes it, with the device and the settings, as JSON (`--out`). Without vllm installed the
eval part uses the hf backend and GRPO transformers generation, and the table says so. With `--dry-run` (or on a
machine with no CUDA device) everything runs on the tiny shape on CPU with small sizes: the check of the code
path that a test runs (tests/benchmarks/test_gpu_check.py); its figures mean nothing. Asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARTS = ("sft", "eval", "grpo")
GPU_BUDGET_S = 470  # the bound is 8 minutes for the whole check
# Seconds each part may take on a GPU (building the 4B model takes the first share); scaled to what is left.
GPU_SHARES = {"build": 60, "sft": 120, "eval": 130, "grpo": 160}

# Sizes per mode: the GPU figures, and the dry run that only walks the code path on a 2-core CPU.
SIZES = {
    "gpu": {
        "shape": "qwen3-4b",
        "vocab": "qwen3",
        "sft": {"conversations": 64, "steps": 8, "warmup": 2, "batch_size": 8, "max_length": 4096},
        "eval": {"entries": 64, "max_new_tokens": 128},
        "grpo": ["max_steps=3", "max_completion_length=256", "bf16=true"],
    },
    "dry": {
        "shape": "tiny",
        "vocab": "tiny",
        "sft": {"conversations": 8, "steps": 2, "warmup": 1, "batch_size": 2, "max_length": 512},
        "eval": {"entries": 1, "max_new_tokens": 8},
        "grpo": ["max_steps=1", "max_tasks=4", "num_generations=2", "per_device_train_batch_size=2"],
    },
}


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# --- the parts (each runs in a child process: python gpu_check.py --part NAME ...) -----------------------------
def part_sft(model_dir: Path, mode: str, tmp: Path) -> dict:
    from benchmarks.sft_throughput import PEAK_BF16_TFLOPS, conversations, mfu, run

    size = SIZES[mode]["sft"]
    flash = mode == "gpu" and installed("flash_attn")
    args = argparse.Namespace(
        shape=SIZES[mode]["shape"],
        steps=size["steps"],
        warmup=size["warmup"],
        batch_size=size["batch_size"],
        max_length=size["max_length"],
        packed_batch_size=1,
        attn="flash_attention_2" if flash else None,
    )
    kind = "ours+packing" if flash else "ours"  # padding-free packing wants varlen (flash) attention on a GPU
    if flash:
        args.max_length = size["max_length"] * size["batch_size"]  # one packed row holds the padded batch's tokens
    result = run(kind, model_dir, conversations(size["conversations"], seed=0), args, tmp)
    out = {
        "run": kind,
        "attention": args.attn or "sdpa",
        "tokens_per_s_per_gpu": result["real_tok_s"],
        "trained_tokens_per_s": result["trained_tok_s"],
        "padding": result["padding"],
        "tokens_per_step": result["tokens_per_step"],
        "params": result["params"],
    }
    if mode == "gpu":
        import torch

        name = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
        out["peak_tflops_bf16"] = peak
        out["mfu"] = mfu(result, 1, peak)[1] if peak else None
    return out


def part_eval(model_dir: Path, mode: str, tmp: Path) -> dict:
    from funreason.core.sections.chat import ChatOptions
    from funreason.envs import bfcl
    from funreason.eval.backends import Sampling
    from funreason.eval.runner import LockstepRunner
    from funreason.eval.tasks import load_tasks
    from transformers import AutoTokenizer

    from benchmarks.eval_speed import first_prompt_lengths

    size = SIZES[mode]["eval"]
    bfcl.set_project_root(tmp / "bfcl_root")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tasks = load_tasks(["base"], limit=size["entries"])
    lengths = first_prompt_lengths(tokenizer, tasks.entries["base"])
    backend_name = "vllm" if installed("vllm") and mode == "gpu" else "hf"
    if backend_name == "vllm":
        from funreason.eval.backends.vllm import VLLMBackend

        engine = VLLMBackend(str(model_dir), Sampling(), max_model_len=16384, dtype="bfloat16")
        engine.llm.generate([{"prompt_token_ids": list(range(1, 200))}], use_tqdm=False)  # warm-up

        def backend(_micro: int):
            engine.llm.reset_prefix_cache()  # both sides start cold
            return engine
    else:
        from funreason.eval.backends.hf import HFBackend

        def backend(micro: int):
            return HFBackend(str(model_dir), tokenizer, Sampling(), micro_batch_size=micro)

    out = {"backend": backend_name, "entries": len(lengths), "first_prompt_tokens_mean": sum(lengths) / len(lengths)}
    for name, in_flight in (("one_at_a_time", 1), ("lockstep", len(lengths))):
        runner = LockstepRunner(
            backend(in_flight),
            tokenizer,
            ChatOptions(),
            max_new_tokens=size["max_new_tokens"],
            in_flight=in_flight,
            progress=False,
        )
        t = time.perf_counter()
        stats = runner.run(tasks.entries, tmp / name)
        out[f"{name}_s"] = time.perf_counter() - t
        out[f"{name}_steps"] = stats["steps"]
    out["speedup"] = out["one_at_a_time_s"] / out["lockstep_s"]
    return out


def part_grpo(model_dir: Path, mode: str, tmp: Path) -> dict:
    from benchmarks import grpo_step

    overrides = list(SIZES[mode]["grpo"])
    vllm = mode == "gpu" and installed("vllm")
    if mode == "gpu":
        overrides.append(f"grpo.model={model_dir}")
    if vllm:
        overrides += ["use_vllm=true", "vllm_mode=colocate", "vllm_gpu_memory_utilization=0.3"]
    mean = grpo_step.main(overrides)
    return {"generation": "vllm colocate" if vllm else "transformers", **mean}


# --- the orchestrator ----------------------------------------------------------------------------------------------
def run_part(name: str, model_dir: Path, mode: str, tmp: Path, timeout: float) -> dict:
    """One part in a child process, within `timeout` seconds: its figures, or {"error": ...}."""
    result = tmp / f"{name}.json"
    command = [sys.executable, __file__, "--part", name, "--model", str(model_dir), "--result", str(result)]
    command += ["--dry-run"] if mode == "dry" else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    try:
        proc = subprocess.run(command, env=env, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return {"error": f"over its {timeout:.0f} s share of the time budget", "wall_s": time.perf_counter() - t}
    wall = time.perf_counter() - t
    if proc.returncode != 0 or not result.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {proc.returncode}: {tail[0][:300]}", "wall_s": wall}
    return {**json.loads(result.read_text()), "wall_s": wall}


def table(parts: dict) -> list[tuple[str, str, str]]:
    """(part, figure, value) rows of the one printed table."""

    def num(value, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    rows = []
    for name, r in parts.items():
        if "error" in r:
            rows.append((name, "error", r["error"]))
            continue
        if name == "sft":
            rows += [
                ("sft", f"tokens/s/GPU ({r['run']}, {r['attention']})", num(r["tokens_per_s_per_gpu"], ",.0f")),
                ("sft", "trained tokens/s", num(r["trained_tokens_per_s"], ",.0f")),
                ("sft", "MFU (bf16 dense peak)", num(r.get("mfu"), ".1%")),
            ]
        elif name == "eval":
            rows += [
                ("eval", f"one-at-a-time s ({r['backend']}, {r['entries']} entries)", num(r["one_at_a_time_s"], ".1f")),
                ("eval", "lockstep s", num(r["lockstep_s"], ".1f")),
                ("eval", "speed-up (target >= 4x)", num(r["speedup"], ".2f") + "x"),
            ]
        elif name == "grpo":
            rows += [("grpo", f"step s ({r['generation']})", num(r["total_s"], ".2f"))]
            for key in ("generation_s", "environment_s", "render_s", "optimization_s"):
                rows.append(("grpo", f"  {key[:-2]} s", num(r[key], ".3f")))
    return rows


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="Tiny shape on CPU, small sizes: the code path only.")
    parser.add_argument("--out", default=str(ROOT / "runs" / "gpu_check.json"), help="Where the JSON goes.")
    parser.add_argument("--skip", default="", help=f"Comma-separated parts to skip: {', '.join(PARTS)}.")
    parser.add_argument("--budget-s", type=float, default=GPU_BUDGET_S, help="Seconds for the whole GPU check.")
    parser.add_argument("--model", help="A model dir to use instead of building one (e.g. a prebuilt 4B shape).")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # a child process: run one part
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    mode = "dry" if args.dry_run else "gpu"

    if args.part:  # the child: one part, its figures to --result
        with tempfile.TemporaryDirectory(prefix=f"gpu-check-{args.part}-") as tmp:
            figures = globals()[f"part_{args.part}"](Path(args.model), mode, Path(tmp))
        Path(args.result).write_text(json.dumps(figures, default=str))
        return None

    if mode == "gpu" and not cuda():
        print("[gpu-check] no CUDA device here: running the dry run (tiny shape, CPU; its figures mean nothing)")
        mode = "dry"
    import torch

    device = torch.cuda.get_device_name() if mode == "gpu" else f"CPU ({os.cpu_count()} cores), dry run"
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    t0 = time.perf_counter()
    deadline = t0 + (args.budget_s if mode == "gpu" else 1e9)
    parts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        tmp = Path(tmp)
        model_dir = Path(args.model) if args.model else None
        if model_dir is None:
            from funreason.fixtures.tiny import build

            # Random weights, no download; without line tokens, so lengths are as a real tokenizer gives them.
            model_dir = build(tmp / "model", shape=SIZES[mode]["shape"], line_tokens=False, vocab=SIZES[mode]["vocab"])
        todo = [p for p in PARTS if p not in skip]
        for i, name in enumerate(todo):
            left = deadline - time.perf_counter()
            share = sum(GPU_SHARES[p] for p in todo[i:])
            timeout = left * GPU_SHARES[name] / share if mode == "gpu" else 600
            print(f"[gpu-check] {name} ...", flush=True)
            parts[name] = run_part(name, model_dir, mode, tmp, timeout)
    rows = table(parts)
    wall = time.perf_counter() - t0
    width = max(len(f) for _, f, _ in rows) if rows else 10
    print(f"\nGPU check on {device}: {SIZES[mode]['shape']} shape, {wall:.0f} s")
    for part, figure, value in rows:
        print(f"{part:<5} {figure:<{width}} {value:>12}")
    report = {
        "device": device,
        "dry_run": mode == "dry",
        "shape": SIZES[mode]["shape"],
        "wall_s": wall,
        "sizes": SIZES[mode],
        "installed": {m: installed(m) for m in ("vllm", "flash_attn")},
        "parts": parts,
        "table": [{"part": p, "figure": f, "value": v} for p, f, v in rows],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"[gpu-check] written to {out}")
    return report


if __name__ == "__main__":
    main()
