"""Rendering is linear in the message count, and the windowed bounds equal the prefix bounds.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/chat/test_render_scaling.py
"""

from __future__ import annotations

import copy
import time

import pytest

from tests.conversations import LS_DOC, long_conversation


def _render_seconds(tokenizer, messages, options, repeats: int) -> float:
    from funreason.chat.render import render_example

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        render_example(tokenizer, messages, LS_DOC, options, train="all")
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize("fmt", ["pythonic", "hermes"])
def test_rendering_is_linear_in_the_message_count(tiny_tokenizer, fmt):
    from funreason.core.sections.chat import ChatOptions

    options = ChatOptions(tool_format=fmt)
    small = _render_seconds(tiny_tokenizer, long_conversation(100), options, repeats=5)  # 202 messages
    large = _render_seconds(tiny_tokenizer, long_conversation(1500), options, repeats=1)  # 3,002 messages
    # 15x the messages: linear is ~15x the time; the old prefix-by-prefix rendering was ~200x (1,800 messages 13.5 s)
    assert large / small < 45, (small, large)


def test_windowed_bounds_equal_prefix_bounds_and_a_non_local_template_falls_back(tiny_tokenizer, monkeypatch):
    import funreason.chat.render as render
    from funreason.core.sections.chat import ChatOptions

    messages = long_conversation(12)
    messages.insert(3, {"role": "user", "content": "and again"})  # a user turn between calls
    for options in (ChatOptions(), ChatOptions(tool_format="hermes", think_prefill=True, history_reasoning="keep")):
        fast = render.render_example(tiny_tokenizer, messages, LS_DOC, options, train="all")
        monkeypatch.setattr(render, "_windowed_bounds", lambda *a: None)
        slow = render.render_example(tiny_tokenizer, messages, LS_DOC, options, train="all")
        monkeypatch.undo()
        assert (fast.ids, fast.mask, fast.spans) == (slow.ids, slow.mask, slow.spans)
        assert len(fast.spans) == 13
    # a template that numbers its messages renders a window unlike the prefix: the exact path decides, same result
    numbered = copy.copy(tiny_tokenizer)
    numbered.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ loop.index }}: {{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    plain = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"}] * 3
    real_prefix, calls = render._prefix_bounds, []
    monkeypatch.setattr(render, "_prefix_bounds", lambda *a: calls.append(1) or real_prefix(*a))
    example = render.render_example(numbered, plain, None, ChatOptions(), train="all")
    assert calls == [1]
    assert [numbered.decode(example.ids[a:b]) for a, b in example.spans] == [f"{k}: a<|im_end|>" for k in (2, 4, 6)]
