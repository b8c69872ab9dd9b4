"""funreason tiny: deterministic, loads back with Auto classes, carries Qwen3's tokens and template."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from funreason.fixtures.tiny import ADDED_TOKENS, SPECIAL_TOKENS, TEMPLATE_PATH, build


def _digest(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path, tiny_model_dir):
    again = build(tmp_path / "again", seed=0)
    assert _digest(again) == _digest(tiny_model_dir)
    other = build(tmp_path / "other", seed=1)
    assert _digest(other)["model.safetensors"] != _digest(tiny_model_dir)["model.safetensors"]


def test_reloads_with_auto_classes_and_generates(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert type(model).__name__ == "Qwen3ForCausalLM"
    n_params = sum(p.numel() for p in model.parameters())
    assert 1_000_000 < n_params < 2_000_000  # small enough for CPU tests, big enough to learn the smoke data
    assert model.config.head_dim >= 32  # vLLM's CPU attention rejects smaller heads
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    for t in SPECIAL_TOKENS + ADDED_TOKENS:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, t
    # Added tool/think tokens are not special, as in real Qwen3: they survive skip_special_tokens.
    ids = tok("<tool_call>x</tool_call><|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "<tool_call>x</tool_call>"
    assert tok.chat_template == TEMPLATE_PATH.read_text()
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    out = model.generate(**tok(prompt, return_tensors="pt"), max_new_tokens=5, do_sample=False)
    assert out.shape[1] > len(tok(prompt)["input_ids"])
    assert torch.isfinite(model(out).logits).all()


def test_trl_recognises_the_template_and_masks_assistant_tokens(tokenizer):
    from trl.chat_template_utils import get_training_chat_template

    tiny_tokenizer = tokenizer  # the tiny one and Qwen3's real one (conftest.tokenizer)
    training = get_training_chat_template(tiny_tokenizer)
    assert training is not None and "{% generation %}" in training.replace("{%- generation %}", "{% generation %}")
    messages = [
        {"role": "user", "content": "add 2 and 3"},
        {"role": "assistant", "content": "5"},
    ]
    out = tiny_tokenizer.apply_chat_template(
        messages, chat_template=training, return_dict=True, return_assistant_tokens_mask=True, tokenize=True
    )
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tiny_tokenizer.decode(masked) == "5<|im_end|>\n"


def test_cli_builds(tmp_path):
    out = tmp_path / "m"
    res = subprocess.run(
        [sys.executable, "-m", "funreason", "tiny", "--out", str(out), "--seed", "3"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()


def test_line_tokens_shorten_bfcl_prompts_and_round_trip(tiny_tokenizer):
    """BFCL's prompt text is the same bytes with or without line tokens; only its token count drops (5-9k -> ~1k),
    for the docs as eval renders them (with BFCL's Python hint) and as synth does (without)."""
    from funreason.chat.pythonic import system_prompt
    from funreason.chat.tools import PYTHON_HINT
    from funreason.envs.bfcl import func_docs

    from funreason.fixtures.tiny import build_tokenizer

    plain = build_tokenizer(0, 4096, line_tokens=False)
    assert len(tiny_tokenizer) > len(plain) + 500
    docs = func_docs(["GorillaFileSystem", "TwitterAPI"])
    for hint in (PYTHON_HINT, ""):
        text = system_prompt([dict(d, description=d["description"] + hint) for d in docs]) + "List the hidden files."
        ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tiny_tokenizer.decode(ids) == text
        assert len(ids) < 1500 < 6000 < len(plain(text, add_special_tokens=False)["input_ids"])
    # Text that is not a doc line still goes through the BPE merges as before.
    query = "Move 'final_report.pdf' to the temp directory."
    assert tiny_tokenizer(query)["input_ids"] == plain(query)["input_ids"]


def test_a_recipes_own_environment_gets_line_tokens_too(tiny_tokenizer):
    """`build(..., environments=[module:Class])` (what `funreason run` passes for a recipe's own environments):
    that environment's prompt lines become tokens as BFCL's are, the text round-trips, and BFCL's lines stay."""
    from funreason.chat.pythonic import system_prompt
    from funreason.envs.resolve import func_docs

    from funreason.fixtures.tiny import build_tokenizer

    warehouse = "funreason.envs.warehouse:Warehouse"
    own = build_tokenizer(0, 4096, environments=(warehouse,))
    text = system_prompt(func_docs([warehouse])) + "Ship 3 of the box to Oslo."
    ids = own(text, add_special_tokens=False)["input_ids"]
    assert own.decode(ids) == text
    assert len(ids) * 2 < len(tiny_tokenizer(text, add_special_tokens=False)["input_ids"])
    assert set(tiny_tokenizer.get_vocab()) <= set(own.get_vocab())


def test_tiny_model_on_qwen3_real_vocabulary(tmp_path, qwen3_tokenizer):
    """`funreason tiny --vocab qwen3`: the tiny architecture over Qwen3's 151,669 real tokens, tied embeddings."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "q"
    res = subprocess.run(
        [sys.executable, "-m", "funreason", "tiny", "--out", str(out), "--vocab", "qwen3"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert len(tok) == 151669 and tok.get_vocab() == qwen3_tokenizer.get_vocab()
    assert model.get_input_embeddings().weight.shape == (151680, 128)  # len(tok) rounded up to 64
    assert (
        model.config.tie_word_embeddings
        and model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    )
    assert model.config.eos_token_id == 151645 and model.config.pad_token_id == 151643
    assert model.generation_config.eos_token_id == [151645, 151643]
    assert sum(p.numel() for p in model.parameters()) < 20_000_000
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, return_tensors="pt")
    assert ids["input_ids"][0].tolist() == qwen3_tokenizer(prompt)["input_ids"]
    gen = model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert gen.shape[1] > ids["input_ids"].shape[1] and torch.isfinite(model(gen).logits).all()
