"""The one renderer: SFT examples, GRPO prompts and eval prompts all come from here (invariant 1 of docs/design.md).

    from funreason.chat.render import render_prompt, render_example, parse_assistant, assistant_message, tool_messages
    prompt = render_prompt(tokenizer, messages, tools, options)          # Rendered(text, ids): generate from ids
    example = render_example(tokenizer, messages, tools, options)       # Example(ids, mask, text): train on mask==1
    reply = parse_assistant(generated_text, options, tools)             # ParseResult(calls, error, ..., reasoning)
    messages.append(assistant_message(generated_text, options, tools))  # the history entry for the next step
    messages += tool_messages(reply.calls, results, options)            # how tool results are fed back

`tools` are BFCL function docs or OpenAI tools (converted with `chat.schemas.as_bfcl_docs`); `options` is the
recipe's `chat:` section (`core.sections.chat.ChatOptions`). Everything goes through ``tokenizer.apply_chat_template``,
the model's own template; nothing here writes chat markup by hand except the ``<think>`` prefill.

Decisions:

- **pythonic** (BFCL prompting, what FunReason-MT's BFCL handler used): the system message is BFCL's default
  prompting system prompt over ``json.dumps(docs, indent=4)``, followed by ``"\\n\\n"`` and the extra system text
  (``options.system_prompt``, then an existing system message's content), as BFCL's
  `system_prompt_pre_processing_chat_model` prepends its prompt. The template is applied WITHOUT ``tools``.
  Assistant ``tool_calls`` are rendered into ``content`` as the call list (`chat.pythonic.render_calls`); an
  assistant message may not carry both visible text and tool_calls in this format. Tool results are one ``tool``
  message per result (BFCL's OSS `_add_execution_results_prompting`), which the Qwen template merges into one user
  turn of ``<tool_response>`` blocks.
- **hermes** (Qwen3 native): the extra system text, if any, is the system message; ``tools`` go to the template as the
  raw BFCL docs (as BFCL's QwenFC handler sends them); assistant ``tool_calls`` are rendered by the template; tool
  results are ``tool`` messages.
- **reasoning**: an assistant turn that is trained or generated shows ``<think>\\n{reasoning}\\n</think>\\n\\n{rest}``
  (reasoning from ``reasoning_content`` or an inline think block); earlier turns keep that form with
  ``history_reasoning: keep`` and show only ``rest`` with ``drop``. When a hermes turn has tool calls and no visible
  text, the block ends ``</think>\\n`` because the template itself writes the ``\\n`` before ``<tool_call>``.
- **think_prefill**: the prompt ends with ``<think>`` after the generation prompt, and every trained turn starts
  with a think block (empty, ``<think>\\n\\n</think>\\n\\n``, when the data has no reasoning), so the example's ids
  continue the prompt's ids. The loss mask starts right after the prompt, i.e. after ``<think>``: it covers what
  the model generates, up to and including ``<|im_end|>`` (not the ``\\n`` the template writes after it).
- **train="all"** trains every assistant turn in one sequence; that is only consistent with eval prompts when history
  keeps reasoning (or there is none): with ``history_reasoning: drop`` plus reasoning or think_prefill it raises
  (train each prefix with ``train="last"`` instead).
- **Token identity by construction**: text is cut at every assistant turn's start (after the generation prompt and
  prefill) and end (after ``<|im_end|>``) and each piece is tokenized on its own; prompts and examples cut the same
  text at the same places, so ``render_prompt(messages[:k]).ids`` is a prefix of ``render_example(messages).ids``
  even where a tokenizer would merge across the cut. Generate from ``Rendered.ids``, not by re-tokenizing the text.
- **parse/history**: ``parse_assistant`` splits reasoning as BFCL's Qwen handlers do (before the last ``</think>``);
  with think_prefill a missing ``</think>`` is a decode error (FunReason-MT's handler fails such a turn). The history
  message keeps the post-think text as ``content`` and the reasoning as ``reasoning_content``; hermes calls become
  ``tool_calls`` (visible text kept), pythonic text stays verbatim in ``content`` as BFCL keeps it.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

from funreason.chat import pythonic
from funreason.chat.calls import ParseResult, ToolCall
from funreason.chat.formats import tool_format
from funreason.chat.holdout import announced_docs
from funreason.chat.messages import MessageError, merged_tool_message, reasoning_of, split_think, validate_messages
from funreason.chat.schemas import as_bfcl_docs
from funreason.core.errors import UserError
from funreason.core.sections.chat import ChatOptions

THINK_OPEN = "<think>"


class RenderError(UserError):
    """The chat template or the options cannot render this conversation consistently."""


@dataclass
class Rendered:
    text: str
    ids: list[int]


@dataclass
class Example:
    ids: list[int]
    mask: list[int]
    text: str = ""
    # (start, end) token index of each trained assistant turn, in order
    spans: list[tuple[int, int]] = field(default_factory=list)


def _options(options: ChatOptions | None) -> ChatOptions:
    return options if options is not None else ChatOptions()


def _assistant_content(message: dict, index: int, show_reasoning: bool, opts: ChatOptions) -> str:
    reasoning, visible = reasoning_of(message)
    calls = message.get("tool_calls") or []
    fmt = tool_format(opts)
    if not fmt.native_tools and calls:
        if visible.strip():
            raise MessageError(
                f"message {index} (assistant): the pythonic format cannot carry both text and tool_calls "
                f"(text: {visible[:80]!r})"
            )
        visible = fmt.render_calls([ToolCall.from_message(tc) for tc in calls])
    if not (show_reasoning and (reasoning or opts.think_prefill)):
        return visible
    tail = "\n" if (fmt.native_tools and calls and not visible) else "\n\n"
    return f"{THINK_OPEN}\n{(reasoning or '').strip(chr(10))}\n</think>{tail}{visible.lstrip(chr(10))}"


@functools.lru_cache(maxsize=64)
def _system_prompt_for(key: str) -> str:
    return pythonic.system_prompt(json.loads(key))


def _pythonic_system_prompt(docs: list[dict]) -> str:
    """`pythonic.system_prompt(docs)`, cached: its indented dump runs in pure Python and every step of a
    multi-turn loop asks for the same one. The compact C-encoded dump is the key (equal docs, equal prompt)."""
    try:
        key = json.dumps(docs, ensure_ascii=False)
    except (TypeError, ValueError):
        return pythonic.system_prompt(docs)
    return _system_prompt_for(key)


def _template_input(messages: list[dict], tools, opts: ChatOptions, targets: set[int]):
    """(messages for the template, tools for the template, offset of messages[0] in that list)."""
    docs = as_bfcl_docs(tools) if tools is not None else None
    native = tool_format(opts).native_tools
    extra = [opts.system_prompt] if opts.system_prompt else []
    body = messages
    if messages and messages[0]["role"] == "system":
        extra.append(messages[0]["content"])
        body = messages[1:]
    if not native and docs is not None:
        extra.insert(0, _pythonic_system_prompt(docs))
    out = [{"role": "system", "content": "\n\n".join(x for x in extra if x)}] if any(extra) else []
    offset = len(out) - (len(messages) - len(body))
    for i, message in enumerate(messages[len(messages) - len(body) :], start=len(messages) - len(body)):
        role = message["role"]
        if role == "assistant":
            show = i in targets or opts.history_reasoning == "keep"
            item = {"role": "assistant", "content": _assistant_content(message, i, show, opts)}
            if native and message.get("tool_calls"):
                item["tool_calls"] = [ToolCall.from_message(tc).to_message() for tc in message["tool_calls"]]
            out.append(item)
        else:
            out.append({"role": role, "content": message["content"]})
    template_tools = docs if (native and docs) else None
    return out, template_tools, offset


def _apply(tokenizer, msgs: list[dict], tools, generation_prompt: bool) -> str:
    if not msgs:
        return ""
    return tokenizer.apply_chat_template(msgs, tools=tools, add_generation_prompt=generation_prompt, tokenize=False)


def _turn_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, full: str) -> dict[int, tuple[int, int]]:
    """Character (start, end) of each assistant turn's generated part inside `full`.

    Linear in the conversation's length (`_windowed_bounds`) whenever the template renders each turn from its
    neighbourhood, as chat templates do; otherwise the exact prefix-by-prefix check (`_prefix_bounds`), which
    renders every prefix and is quadratic, decides and names the turn that breaks prefix preservation."""
    bounds = _windowed_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, full)
    if bounds is not None:
        return bounds
    return _prefix_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, full)


class _NotLocal(Exception):
    pass


def _windowed_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, full: str) -> dict[int, tuple[int, int]] | None:
    """`_prefix_bounds` rendering windows instead of prefixes; None when the template is not local here.

    The prompt of assistant turn t is `tmsgs[:t]` rendered with the generation prompt. Instead of rendering that
    whole prefix (O(t), so O(n^2) for a conversation), each turn renders a window: the system message, the previous
    assistant turn (the anchor), and the messages after it up to turn t. What the window adds after its anchor must
    be exactly the text `full` holds after the previous turn's end: checked character by character, so these bounds
    are the prefix bounds whenever they are returned (the first window starts at the conversation's start and is
    the prefix itself). A template whose rendering of a message depends on messages outside its window fails that
    check, and the caller falls back to rendering prefixes."""
    eos = tokenizer.eos_token or "<|im_end|>"
    head = tmsgs[:1] if tmsgs and tmsgs[0]["role"] == "system" else []
    bounds: dict[int, tuple[int, int]] = {}
    anchor = None  # template index of the previous assistant turn
    origin = 0  # where, in `full`, the text after the anchor starts
    try:
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            t = i + offset
            window = tmsgs[:t] if anchor is None else head + tmsgs[anchor:t]
            base = "" if anchor is None else _apply(tokenizer, head + [tmsgs[anchor]], ttools, False)
            prompt = _apply(tokenizer, window, ttools, True)
            upto = _apply(tokenizer, window + [tmsgs[t]], ttools, False)
            if not (prompt.startswith(base) and upto.startswith(prompt)):
                raise _NotLocal
            added = upto[len(base) :]
            if not full.startswith(added, origin):
                raise _NotLocal
            start = origin + len(prompt) - len(base)
            if opts.think_prefill and full.startswith(THINK_OPEN, start):
                start += len(THINK_OPEN)
            end = origin + upto.rfind(eos) - len(base)
            if end < start:
                raise _NotLocal
            bounds[i] = (start, end + len(eos))
            anchor, origin = t, origin + len(added)
    except _NotLocal:
        return None
    return bounds


def _prefix_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, full: str) -> dict[int, tuple[int, int]]:
    """Character (start, end) of each assistant turn's generated part inside `full`, rendering every prefix."""
    eos = tokenizer.eos_token or "<|im_end|>"
    bounds = {}
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        t = i + offset
        prompt = _apply(tokenizer, tmsgs[:t], ttools, True)
        upto = _apply(tokenizer, tmsgs[: t + 1], ttools, False)
        if not (full.startswith(prompt) and full.startswith(upto) and upto.startswith(prompt)):
            raise RenderError(
                f"message {i}: the chat template is not prefix-preserving here, so prompts and examples would differ"
            )
        start = len(prompt)
        if opts.think_prefill and full.startswith(THINK_OPEN, start):
            start += len(THINK_OPEN)
        end = upto.rfind(eos)
        if end < start:
            raise RenderError(f"message {i}: no {eos} after the assistant turn in the rendered template")
        bounds[i] = (start, end + len(eos))
    return bounds


# Per tokenizer: piece text -> its ids. Each piece is tokenized on its own, so equal text always gives equal ids;
# a multi-turn loop re-renders the same system prompt and earlier turns at every step, and this skips re-encoding
# them (most of a step's cost with 5-13k-token BFCL prompts). Bounded: oldest pieces are dropped first.
_PIECE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PIECE_CACHE_SIZE = 4096


def _encode_pieces(tokenizer, texts: list[str]) -> list:
    try:
        cache = _PIECE_CACHE.setdefault(tokenizer, OrderedDict())
    except TypeError:  # not weak-referenceable: no cache
        return tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    if not texts:
        return []
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        for text, ids in zip(missing, tokenizer(missing, add_special_tokens=False)["input_ids"]):
            cache[text] = tuple(ids)
    out = []
    for text in texts:
        cache.move_to_end(text)
        out.append(cache[text])
    while len(cache) > _PIECE_CACHE_SIZE:
        cache.popitem(last=False)
    return out


def _tokenize_pieces(tokenizer, text: str, cuts: list[int]) -> tuple[list, list[tuple[int, int]]]:
    edges = sorted(set([0, *cuts, len(text)]))
    pieces = [(a, b) for a, b in zip(edges, edges[1:]) if b > a]
    return _encode_pieces(tokenizer, [text[a:b] for a, b in pieces]), pieces


def _callable(tools, messages: list[dict]):
    """The tools a call may name: the offered ones and those a miss_func holdout message announced (BFCL's
    prompting form, `chat.holdout`), which the prompt shows in that message rather than in its tool list."""
    announced = announced_docs(messages) if tools is not None and isinstance(messages, list) else []
    return [*tools, *announced] if announced else tools


def render_prompt(tokenizer, messages: list[dict], tools=None, options: ChatOptions | None = None) -> Rendered:
    """The prompt for the next assistant message: generation prompt, plus ``<think>`` when think_prefill is on."""
    opts = _options(options)
    # Structure only, not tool names: a prompt carries the model's own earlier calls, and a call to a tool that does
    # not exist is fed back as BFCL does (executed as an error, the loop goes on), not refused. Training examples
    # (`render_example`) do check names: there an undeclared call is a data bug.
    validate_messages(messages, None)
    tmsgs, ttools, offset = _template_input(messages, tools, opts, targets=set())
    text = _apply(tokenizer, tmsgs, ttools, True)
    bounds = _turn_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, text)
    if opts.think_prefill:
        text += THINK_OPEN
    encoded, _ = _tokenize_pieces(tokenizer, text, [c for b in bounds.values() for c in b])
    return Rendered(text=text, ids=[t for piece in encoded for t in piece])


def render_example(
    tokenizer, messages: list[dict], tools=None, options: ChatOptions | None = None, train: str = "last"
) -> Example:
    """The whole conversation as ids, with mask 1 on the assistant turn(s) to train (``last`` or ``all``)."""
    opts = _options(options)
    if train not in ("last", "all"):
        raise ValueError(f"train must be 'last' or 'all', got {train!r}")
    validate_messages(messages, _callable(tools, messages), require_target=True)
    assistants = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    targets = set(assistants) if train == "all" else {assistants[-1]}
    if train == "all" and opts.history_reasoning == "drop":
        for i in assistants[:-1]:
            if reasoning_of(messages[i])[0] or opts.think_prefill:
                raise RenderError(
                    f"message {i}: train='all' with history_reasoning='drop' would train this turn with its reasoning "
                    "while later prompts show it without; use train='last' per prefix or history_reasoning='keep'"
                )
    tmsgs, ttools, offset = _template_input(messages, tools, opts, targets)
    text = _apply(tokenizer, tmsgs, ttools, False)
    bounds = _turn_bounds(tokenizer, tmsgs, ttools, offset, messages, opts, text)
    encoded, pieces = _tokenize_pieces(tokenizer, text, [c for b in bounds.values() for c in b])
    trained = {bounds[i] for i in targets}
    ids, mask, spans = [], [], []
    for piece_ids, piece in zip(encoded, pieces):
        on = piece in trained
        if on:
            spans.append((len(ids), len(ids) + len(piece_ids)))
        ids.extend(piece_ids)
        mask.extend([1 if on else 0] * len(piece_ids))
    return Example(ids=ids, mask=mask, text=text, spans=spans)


def parse_assistant(text: str, options: ChatOptions | None = None, tools=None) -> ParseResult:
    """Split reasoning off a generated assistant text and parse its calls in the recipe's format. Never raises."""
    opts = _options(options)
    if not isinstance(text, str):
        return ParseResult.failure("not_text", f"expected a string, got {type(text).__name__}")
    if opts.think_prefill and "</think>" not in text:
        return ParseResult.failure("no_think_end", "the reasoning block was never closed with </think>", text)
    reasoning, rest = split_think(text)
    result = tool_format(opts).parse(rest, mode=opts.pythonic_mode, tools=tools)
    result.reasoning = reasoning
    return result


def assistant_message(text: str, options: ChatOptions | None = None, tools=None) -> dict:
    """The history message for a generated assistant text (see the module docstring for what is kept)."""
    opts = _options(options)
    return history_message(parse_assistant(text, opts, tools), opts)


def history_message(result: ParseResult, options: ChatOptions | None = None) -> dict:
    """`assistant_message` from an already parsed reply (`parse_assistant`'s result), so a step parses once."""
    message = {"role": "assistant", "content": result.content}
    if tool_format(options).native_tools and result.ok and result.calls:
        message["tool_calls"] = [call.to_message() for call in result.calls]
    if result.reasoning:
        message["reasoning_content"] = result.reasoning
    return message


def tool_messages(calls: list[ToolCall], results: list[str], options: ChatOptions | None = None) -> list[dict]:
    """One ``tool`` message per (call, result); ``name`` is the BFCL call string (pythonic) or function name (hermes).
    With ``options.tool_results == "merged"``: one message for all of them, content ``str(list_of_results)``
    (FunReason-MT's handler; `chat.messages.merge_tool_results` gives stored conversations the same form)."""
    opts = _options(options)
    if len(calls) != len(results):
        raise ValueError(f"{len(calls)} calls but {len(results)} results")
    if opts.tool_results == "merged":
        return [merged_tool_message(results)]
    name = tool_format(opts).tool_message_name
    return [{"role": "tool", "name": name(call), "content": str(result)} for call, result in zip(calls, results)]
