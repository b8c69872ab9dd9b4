"""The tool docs a prompt offers: one function decides them for SFT, RL and eval alike (invariant 7 of docs/design.md).

    from funreason.chat.tools import offered_docs
    tools = offered_docs(record["tools"])          # SFT rows (train/data.py), RL tasks (train/rl_tasks.py)
    entry["function"] = offered_docs(raw_docs)     # eval entries (eval/tasks.py)
    render_prompt(tokenizer, messages, tools, options)   # the renderer then shows exactly these docs

BFCL's generation step (`bfcl_eval.utils.load_dataset_entry(include_language_specific_hint=True)` →
`_func_doc_language_specific_pre_processing`) appends `PYTHON_HINT` to the description of every doc an entry offers,
in FC and prompting mode alike; every multi-turn category is Python, so the Java/JavaScript variants (which also
rewrite parameter types) never apply. Docs held out for a miss_func turn are taken out *before* that step, so BFCL
announces them later without the hint; the eval loader keeps them that way (`missed_function`), and this function is
not applied to them.

Each consumer calls `offered_docs` once, where it builds the tools list it renders with; the result is what the
prompt shows, so a training prompt and the eval prompt of the same tools carry the same system text. The hint is
added only where a description does not already end with it, so data exported from hinted prompts is not hinted
twice (BFCL's raw doc files never end with it, so BFCL entries come out byte-identical to BFCL's own loader).
"""

from __future__ import annotations

from funreason.chat.schemas import as_bfcl_docs

__all__ = ["PYTHON_HINT", "offered_docs"]

# bfcl_eval.utils._get_language_specific_hint for Python (every category but simple_java / simple_javascript).
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."


def offered_docs(tools: list[dict] | None) -> list[dict] | None:
    """The docs a prompt offers for `tools` (BFCL docs or OpenAI tools, mixed is fine): BFCL-dialect docs, each
    description ending in `PYTHON_HINT`. None stays None (no tools). The docs are new top-level dicts; the input is
    never mutated (nested schemas are shared with it, read-only as everywhere in the renderer)."""
    if tools is None:
        return None
    out = []
    for doc in as_bfcl_docs(tools):
        description = doc.get("description", "")
        if isinstance(description, str) and description.endswith(PYTHON_HINT):
            out.append(dict(doc))
        else:
            out.append({**doc, "description": f"{description}{PYTHON_HINT}"})
    return out
