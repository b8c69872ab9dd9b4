"""SFT training (train/sft.py) in one CPU process on the tiny model: learning, loss masks, packing, LoRA.

    OMP_NUM_THREADS=1 DS_ACCELERATOR=cpu .venv/bin/python -m pytest -q tests/train/test_sft.py

The multi-process, DeepSpeed and kill/resume runs are in tests/train/test_sft_distributed.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from funreason.chat import pythonic
from funreason.chat.calls import ToolCall
from funreason.core.recipe import load_recipe

from tests.train.test_data import sft_conversations, write_dataset


def write_recipe(tmp: Path, model: Path, data: list[Path], sft: dict, chat: dict | None = None) -> Path:
    recipe = {
        "model": str(model),
        "run_dir": str(tmp / "run"),
        "seed": 0,
        "chat": chat or {"tool_format": "pythonic"},
        "sft": {"datasets": [{"path": str(p)} for p in data], "report_to": [], **sft},
    }
    path = tmp / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_run_learns_and_saves_final(tmp_path, tiny_model_dir):
    """A few hundred steps on a small fixed dataset: the loss falls clearly; final/ has model, tokenizer, recipe."""
    from funreason.train.sft import main

    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(16, seed=0, tools=False))
    recipe = write_recipe(
        tmp_path,
        tiny_model_dir,
        [data],
        {"layout": "full", "per_device_train_batch_size": 8, "learning_rate": 1e-3, "logging_steps": 10},
    )
    summary = main(["--config", str(recipe), "max_steps=200", "lr_scheduler_type=constant", "save_strategy=no"])
    curve = summary["loss_curve"]
    assert summary["steps"] == 200 and len(curve) == 20
    first, last = curve[0][1], curve[-1][1]
    assert last < 0.35 * first, curve
    final = Path(summary["final_model"])
    for name in ("config.json", "model.safetensors", "tokenizer.json", "recipe.yaml"):
        assert (final / name).is_file(), name
    resolved = yaml.safe_load((final / "recipe.yaml").read_text())
    assert resolved["sft"]["max_steps"] == 200 and resolved["sft"]["layout"] == "full"
    written = json.loads((tmp_path / "run" / "sft" / "train_summary.json").read_text())
    assert written["final_loss"] == pytest.approx(last)


def _trained_segments(batch, tokenizer) -> list[str]:
    """Decode every maximal run of labels != -100 (labels are shifted inside the model, not here)."""
    segments = []
    for ids, labels in zip(batch["input_ids"], batch["labels"]):
        run: list[int] = []
        for tok, lab in zip(ids.tolist(), labels.tolist()):
            if lab != -100:
                assert lab == tok
                run.append(tok)
            elif run:
                segments.append(tokenizer.decode(run))
                run = []
        if run:
            segments.append(tokenizer.decode(run))
    return segments


def _expected_assistant_turns(rows) -> list[str]:
    out = []
    for row in rows:
        for m in row["messages"]:
            if m["role"] != "assistant":
                continue
            if m.get("tool_calls"):
                out.append(pythonic.render_calls([ToolCall.from_message(c) for c in m["tool_calls"]]) + "<|im_end|>")
            else:
                out.append(m["content"] + "<|im_end|>")
    return out


@pytest.mark.parametrize(
    "layout,packing", [("per_turn", False), ("full", False), ("per_turn", True)], ids=["per_turn", "full", "packed"]
)
def test_trained_tokens_are_exactly_the_assistant_turns(tmp_path, tiny_model_dir, layout, packing):
    """Decoding the labels of every batch SFTTrainer builds gives exactly the assistant turns, each once."""
    from funreason.train.common import load_model_and_tokenizer
    from funreason.train.data import build_sft_dataset
    from funreason.train.sft import dataset_specs, sft_config
    from trl import SFTTrainer

    rows = sft_conversations(5, seed=2)
    data = write_dataset(tmp_path / "dataset", rows)
    sft = {"layout": layout, "per_device_train_batch_size": 3, "packing": packing, "max_length": 2048}
    recipe = load_recipe(write_recipe(tmp_path, tiny_model_dir, [data], sft))
    config = sft_config(recipe)
    model, tokenizer = load_model_and_tokenizer(recipe.model)
    dataset = build_sft_dataset(tokenizer, dataset_specs(recipe), recipe.chat, layout=layout, progress=False)
    n_assistant = sum(m["role"] == "assistant" for r in rows for m in r["messages"])
    assert len(dataset) == (n_assistant if layout == "per_turn" else len(rows))
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
    segments, batches = [], 0
    for batch in trainer.get_train_dataloader():
        batches += 1
        segments += _trained_segments(batch, tokenizer)
        if packing:  # padding-free: one row, positions restart at every packed example
            assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
            assert int((batch["position_ids"][0] == 0).sum()) > 1
    if layout == "per_turn":
        # one trained span per example: the last assistant message of each prefix
        assert len(segments) == n_assistant
    assert sorted(segments) == sorted(_expected_assistant_turns(rows))
    assert not any("<|im_start|>" in s or "please add" in s or "weather in" in s for s in segments)


def test_bf16_on_cpu_trains_fp32_weights_under_autocast(tmp_path, tiny_model_dir):
    """`bf16: true` on a CPU is mixed precision (bf16 autocast, fp32 weights and optimizer), not bf16 weights,
    whose small updates would round away; the model still learns and is saved in fp32."""
    from funreason.train.sft import main

    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(8, seed=2, tools=False))
    recipe = write_recipe(
        tmp_path,
        tiny_model_dir,
        [data],
        {"layout": "full", "per_device_train_batch_size": 8, "learning_rate": 1e-3, "logging_steps": 5},
    )
    summary = main(
        ["--config", str(recipe), "bf16=true", "max_steps=30", "lr_scheduler_type=constant", "save_strategy=no"]
    )
    assert summary["mixed_precision"] == "bf16" and summary["weights_dtype"] == "torch.float32"
    curve = summary["loss_curve"]
    assert curve[-1][1] < 0.8 * curve[0][1], curve
    saved = json.loads((Path(summary["final_model"]) / "config.json").read_text())
    assert saved["dtype"] == "float32"


def test_lora_run_saves_merges_and_reloads(tmp_path, tiny_model_dir):
    from funreason.train.sft import main
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(8, seed=1, tools=False))
    recipe = write_recipe(
        tmp_path,
        tiny_model_dir,
        [data],
        {"per_device_train_batch_size": 4, "learning_rate": 5e-2, "max_steps": 4, "save_strategy": "no"},
    )
    summary = main(["--config", str(recipe), "lora.r=4", "lora.lora_alpha=8", "merge_lora=true"])
    final, adapter = Path(summary["final_model"]), tmp_path / "run" / "sft" / "adapter"
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
    assert not (final / "adapter_config.json").exists() and (final / "recipe.yaml").is_file()
    ids = torch.tensor([[5, 17, 42, 99, 7, 300]])
    with torch.no_grad():
        merged = AutoModelForCausalLM.from_pretrained(final)(ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
        plain = base(ids).logits
        adapted = PeftModel.from_pretrained(base, adapter)(ids).logits
    assert not torch.allclose(merged, plain, atol=1e-3)  # training changed the model
    torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=1e-4)  # merge == base + adapter


def test_bad_override_and_missing_dataset_are_clear(tmp_path, tiny_model_dir):
    from funreason.core.errors import UserError
    from funreason.train.sft import main

    recipe = write_recipe(tmp_path, tiny_model_dir, [tmp_path / "missing.jsonl"], {})
    with pytest.raises(UserError, match="unknown key 'max_stepz'.*did you mean 'max_steps'"):
        main(["--config", str(recipe), "max_stepz=3"])
    with pytest.raises(UserError, match="missing.jsonl"):
        main(["--config", str(recipe), "max_steps=1"])
