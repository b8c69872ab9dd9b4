"""SFT throughput: our pipeline (chat.render examples, bfd padding-free packing) vs a plain SFTTrainer baseline.

    .venv/bin/python benchmarks/sft_throughput.py                        # tiny model on CPU, ~2-3 min
    .venv/bin/python benchmarks/sft_throughput.py --vocab tiny           # the project's small tokenizer instead
    .venv/bin/python benchmarks/sft_throughput.py --steps 30 --conversations 256
    .venv/bin/python benchmarks/sft_throughput.py --tools bfcl --batch-size 1 --max-length 9000   # BFCL-sized prompts
    python benchmarks/sft_throughput.py --shape qwen3-4b --max-length 4096 --batch-size 8   # one GPU: + tokens/s/GPU, MFU

The model is the tiny architecture on Qwen3-4B-Instruct-2507's real tokenizer (`funreason tiny --vocab qwen3`, 151,669
tokens, tied embeddings), so every length and tokens/s figure is in real Qwen3 tokens and the LM head costs what a
151k-vocabulary head costs; `--vocab tiny` measures on the project's 4k tokenizer instead (the earlier figures).
Both runs train the same model from the same weights on the same synthetic multi-turn tool conversations (hermes
format, so TRL's own template rendering is a like-for-like baseline), in this process, one after the other:
  - ours:     train/data.py `full` layout (pre-tokenized, assistant masks from chat.render), padded batches, and
              train/fused_head.py (on a CPU the LM head scores only the trained positions, as TRL does on CUDA);
  - ours+packing: the same with `packing=True` (bfd, padding-free), `max_length` tokens per packed row. On CPU
              (sdpa) padding-free attention builds one block-diagonal mask over the whole packed batch, so it is
              slower there; on a GPU pass `--attn flash_attention_2` (or a kernels-hub flash attention);
  - baseline: SFTTrainer on the raw conversational dataset, `assistant_only_loss=True`, no packing (padded batches).
`--tools bfcl` offers the tool docs of BFCL's GorillaFileSystem and TwitterAPI (from the installed bfcl-eval) instead
of four toy tools: ~8k-token prompts around a few hundred trained tokens, the shape of the smoke recipe's examples.
Printed per run: trained tokens/s (label != -100), all tokens/s, padding fraction (pad / all positions in the
batches), and the ratio ours / baseline. With `--shape qwen3-4b` on a GPU also tokens/s/GPU and MFU (6·N + attention
FLOPs per token against the GPU's dense bf16 peak, `--peak-tflops` to override). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "4090": 165.0}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": desc,
            "parameters": {"type": "object", "properties": props, "required": list(props)},
        },
    }
    for name, desc, props in [
        ("add", "Add two integers.", {"a": {"type": "integer"}, "b": {"type": "integer"}}),
        ("weather", "Current weather of a city.", {"city": {"type": "string"}}),
        ("cd", "Change directory.", {"folder": {"type": "string"}}),
        (
            "grep",
            "Lines of a file matching a pattern.",
            {"file_name": {"type": "string"}, "pattern": {"type": "string"}},
        ),
    ]
]
WORDS = "the file report notes data budget meeting folder draft final summary list city trip price".split()


def bfcl_tools() -> list[dict]:
    """The real tool docs of two BFCL classes as OpenAI-style tools, plus the toy tools the conversations call."""
    from funreason.chat.schemas import bfcl_to_json_schema
    from funreason.envs.bfcl import func_docs

    docs = func_docs(["GorillaFileSystem", "TwitterAPI"])
    names = {d["name"] for d in docs}
    return [bfcl_to_json_schema(d) for d in docs] + [t for t in TOOLS if t["function"]["name"] not in names]


def conversations(n: int, seed: int, tools: list[dict] = TOOLS) -> list[dict]:
    """Multi-turn tool conversations of widely varying length (1-6 turns), so padding matters."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        messages = []
        for _ in range(rng.randint(1, 6)):
            name = rng.choice(["add", "weather", "cd", "grep"])
            args = {
                "add": lambda: {"a": rng.randint(1, 999), "b": rng.randint(1, 999)},
                "weather": lambda: {"city": rng.choice(["Paris", "Lima", "Oslo"])},
                "cd": lambda: {"folder": rng.choice(WORDS)},
                "grep": lambda: {"file_name": f"{rng.choice(WORDS)}.txt", "pattern": rng.choice(WORDS)},
            }[name]()
            ask = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 30)))
            messages += [
                {"role": "user", "content": f"Please use {name}: {ask}"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"type": "function", "function": {"name": name, "arguments": args}}],
                },
                {"role": "tool", "content": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 40)))},
                {
                    "role": "assistant",
                    "content": "Done: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))),
                },
            ]
        rows.append({"messages": messages, "tools": tools})
    return rows


class CountingCollator:
    """Wraps the trainer's collator to count the tokens of every batch it builds."""

    def __init__(self, inner):
        self.inner = inner
        self.batches: list[tuple[int, int, int]] = []  # (trained, real, positions)

    def __call__(self, examples):
        batch = self.inner(examples)
        positions = batch["input_ids"].numel()
        real = int(batch["attention_mask"].sum()) if "attention_mask" in batch else positions
        trained = int((batch["labels"] != -100).sum())
        self.batches.append((trained, real, positions))
        return batch


def timed_train(trainer, warmup: int) -> dict:
    from transformers import TrainerCallback

    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    marks: dict[int, float] = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            marks[state.global_step] = time.perf_counter()

    trainer.add_callback(Clock())
    trainer.train()
    steps = max(marks)
    seconds = marks[steps] - marks[warmup]
    window = counter.batches[warmup:steps]
    trained, real, positions = (sum(x) for x in zip(*window))
    return {
        "steps": steps - warmup,
        "seconds": seconds,
        "trained_tok_s": trained / seconds,
        "real_tok_s": real / seconds,
        "padding": 1 - real / positions,
        "real_tokens": real,
        "seq_len": positions / len(window) / max(1, trainer.args.per_device_train_batch_size),
        "tokens_per_step": real / len(window),
    }


def run(kind: str, model_dir: Path, rows: list[dict], args, out: Path) -> dict:
    import torch
    from datasets import Dataset
    from funreason.core.sections.chat import ChatOptions
    from funreason.train.common import device_defaults
    from funreason.train.data import iter_examples
    from funreason.train.fused_head import score_trained_positions_only
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    score_trained_positions_only(enabled=kind.startswith("ours"))
    gpu = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    extra = {"attn_implementation": args.attn} if args.attn else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if gpu else torch.float32, **extra)
    common = dict(
        output_dir=str(out / kind),
        max_steps=args.steps + args.warmup,
        per_device_train_batch_size=args.batch_size,
        learning_rate=1e-5,
        logging_steps=10_000,
        save_strategy="no",
        report_to=[],
        seed=0,
        max_length=args.max_length,
        **device_defaults(),
    )
    if gpu:
        common["activation_checkpointing"] = args.shape == "qwen3-4b"
    if kind.startswith("ours"):
        options = ChatOptions(tool_format="hermes")
        tagged = [("bench", i, r) for i, r in enumerate(rows)]
        ids, masks = zip(*iter_examples(tokenizer, tagged, options, "full", progress=False))
        dataset = Dataset.from_dict({"input_ids": list(ids), "assistant_masks": list(masks)})
        packing = kind == "ours+packing"
        if packing:
            # One packed row already holds about as many tokens as the padded runs' whole batch.
            common["per_device_train_batch_size"] = args.packed_batch_size
        config = SFTConfig(packing=packing, packing_strategy="bfd", assistant_only_loss=False, **common)
    else:
        dataset = Dataset.from_list(rows, on_mixed_types="use_json")
        config = SFTConfig(assistant_only_loss=True, packing=False, **common)
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
    result = timed_train(trainer, args.warmup)
    result["params"] = sum(p.numel() for p in model.parameters())
    result["config"] = model.config
    del trainer, model
    if gpu:
        torch.cuda.empty_cache()
    return result


def row_lengths(model_dir: Path, rows: list[dict]) -> dict:
    """The workload in the model's tokens (real Qwen3 tokens with the default --vocab qwen3): each row's length and
    its trained (assistant) tokens, as our `full` layout renders it."""
    from funreason.core.sections.chat import ChatOptions
    from funreason.train.data import iter_examples
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tagged = [("bench", i, r) for i, r in enumerate(rows)]
    examples = list(iter_examples(tokenizer, tagged, ChatOptions(tool_format="hermes"), "full", progress=False))
    lengths = [len(ids) for ids, _ in examples]
    name = "Qwen3 (real, 151,669)" if len(tokenizer) == 151669 else f"a {len(tokenizer):,}-token tokenizer"
    return {
        "rows": len(lengths),
        "mean": sum(lengths) / len(lengths),
        "min": min(lengths),
        "max": max(lengths),
        "trained": sum(sum(mask) for _, mask in examples) / len(examples),
        "tokenizer": name,
    }


def mfu(result: dict, world: int, peak_tflops: float) -> tuple[float, float]:
    cfg = result["config"]
    per_token = 6 * result["params"] + 12 * cfg.num_hidden_layers * cfg.hidden_size * result["seq_len"]
    tok_s_gpu = result["real_tok_s"] / world
    return tok_s_gpu, tok_s_gpu * per_token / (peak_tflops * 1e12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="Local model dir (default: build one of --shape in a temp dir).")
    parser.add_argument("--shape", choices=["tiny", "qwen3-4b"], default="tiny")
    parser.add_argument(
        "--vocab", choices=["qwen3", "tiny"], default="qwen3", help="Tokenizer of the built model (default qwen3)."
    )
    parser.add_argument("--conversations", type=int, default=64)
    parser.add_argument("--tools", choices=["toy", "bfcl"], default="toy", help="Tool docs in every prompt.")
    parser.add_argument("--steps", type=int, default=10, help="Timed steps per run (after --warmup).")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=2048, help="Max tokens per row (per packed row).")
    parser.add_argument("--packed-batch-size", type=int, default=1, help="Packed rows per device batch.")
    parser.add_argument(
        "--attn", help="attn_implementation, e.g. flash_attention_2 (GPU packing needs varlen attention)."
    )
    parser.add_argument("--peak-tflops", type=float, help="Dense bf16 peak of one GPU (default: by device name).")
    args = parser.parse_args()

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = Path(args.model) if args.model else None
        if model_dir is None:
            from funreason.fixtures.tiny import build

            # Without line tokens: sequence lengths as a real model's tokenizer gives them.
            model_dir = build(tmp / "model", shape=args.shape, line_tokens=False, vocab=args.vocab)
        rows = conversations(args.conversations, seed=0, tools=bfcl_tools() if args.tools == "bfcl" else TOOLS)
        workload = row_lengths(model_dir, rows)
        results = {kind: run(kind, model_dir, rows, args, tmp) for kind in ("ours", "ours+packing", "baseline")}

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    print(
        f"\nSFT throughput, {args.shape} model, {device}, {args.tools} tools, batch {args.batch_size}, "
        f"max_length {args.max_length}"
    )
    print(
        f"rows: {workload['rows']}, {workload['mean']:.0f} tokens on average ({workload['min']}-{workload['max']}), "
        f"{workload['trained']:.0f} trained, in the tokens of {workload['tokenizer']}"
    )
    print(f"{'run':<14}{'trained tok/s':>15}{'all tok/s':>12}{'padding':>10}{'tok/step':>10}{'steps':>7}{'s':>8}")
    for kind, r in results.items():
        print(
            f"{kind:<14}{r['trained_tok_s']:>15.0f}{r['real_tok_s']:>12.0f}{r['padding']:>10.1%}{r['tokens_per_step']:>10.0f}{r['steps']:>7}"
            f"{r['seconds']:>8.1f}"
        )
    for kind in ("ours", "ours+packing"):
        ratio = results[kind]["trained_tok_s"] / results["baseline"]["trained_tok_s"]
        print(f"ratio {kind}/baseline (trained tokens/s): {ratio:.2f}x")
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
        for kind, r in results.items():
            tok_gpu, util = mfu(r, 1, peak) if peak else (r["real_tok_s"], float("nan"))
            print(f"{kind}: {tok_gpu:.0f} tokens/s/GPU, MFU {util:.1%} (peak {peak} TFLOPs bf16)")


if __name__ == "__main__":
    main()
