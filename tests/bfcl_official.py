"""The official bfcl_eval functions our parity tests compare against, importable in this venv.

    from tests import bfcl_official as official

    official.default_decode_execute_prompting("[ls(a=True)]")       # -> ["ls(a=True)"]
    official.qwen_fc().decode_execute(text, has_tool_call_tag=False)
    with official.instance_cache_cleared("parity_0") as model_name:
        official.evaluate_multi_turn_entry(handler, entry_id, model_result, gt, entry, model_name, category)

Why it exists: bfcl_eval is installed --no-deps, and several of its modules import third-party packages at module
level that only other code paths use, so a plain import fails here:

- `model_handler/utils.py` imports BFCL's Java/JavaScript parsers, which build `tree_sitter` parsers at import;
- `local_inference/qwen_fc.py` (via `base_oss_handler.py`) imports `requests`, used only to poll a local server;
- `eval_checker/eval_runner.py` imports `constants/model_config.py`, the model-name -> handler registry, which
  imports every API vendor's SDK (anthropic, cohere, google-genai, ...).

Rather than copying or recompiling BFCL's source, `_import` puts stand-ins for exactly those absent modules into
`sys.modules` for the duration of the import and removes them again, so the real, unmodified bfcl_eval modules
load and nothing else in the test process sees a fake `requests` or `tree_sitter`. A stand-in is used only where
the real package cannot be found. The registry stand-in is empty: `_evaluate_single_multi_turn_entry` never
reads it (only `get_handler` and leaderboard metadata do, which no test calls).

BFCL's decoders and executor `eval` what they are given: tests feed them only strings they wrote or rendered from
ground truth, never model text (invariant 2 of docs/design.md holds for our code, which these tests check against).

BFCL's executor caches backend instances in `multi_turn_utils`' module globals, keyed by model name and entry id,
for the life of the process; `instance_cache_cleared` scopes one model name and drops its instances on exit.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from funreason.envs import bfcl

# public name -> (bfcl_eval submodule, attribute there); the objects returned are BFCL's own, not wrappers
_EXPORTS = {
    "default_decode_ast_prompting": ("model_handler.utils", "default_decode_ast_prompting"),
    "default_decode_execute_prompting": ("model_handler.utils", "default_decode_execute_prompting"),
    "convert_to_function_call": ("model_handler.utils", "convert_to_function_call"),
    "formulate_system_prompt": ("model_handler.utils", "formulate_system_prompt"),
    "format_function_doc": ("model_handler.utils", "format_function_doc"),
    "parse_prompt_variation_params": ("model_handler.utils", "parse_prompt_variation_params"),
    "get_all_format_sensitivity_configs": ("utils", "get_all_format_sensitivity_configs"),
    "load_ground_truth_entry": ("utils", "load_ground_truth_entry"),
    "DEFAULT_SYSTEM_PROMPT_FORMAT": ("constants.default_prompts", "DEFAULT_SYSTEM_PROMPT_FORMAT"),
    "system_prompt_pre_processing_chat_model": ("model_handler.utils", "system_prompt_pre_processing_chat_model"),
    "multi_turn_checker": ("eval_checker.multi_turn_eval.multi_turn_checker", "multi_turn_checker"),
    "execute_multi_turn_func_call": ("eval_checker.multi_turn_eval.multi_turn_utils", "execute_multi_turn_func_call"),
    "is_empty_execute_response": ("eval_checker.multi_turn_eval.multi_turn_utils", "is_empty_execute_response"),
    "evaluate_multi_turn_entry": ("eval_checker.eval_runner", "_evaluate_single_multi_turn_entry"),
    "evaluate_ast_entry": ("eval_checker.eval_runner", "_evaluate_single_ast_entry"),
    "evaluate_relevance_entry": ("eval_checker.eval_runner", "_evaluate_single_relevance_entry"),
    "evaluate_agentic_entry": ("eval_checker.eval_runner", "_evaluate_single_agentic_entry"),
    "evaluate_task": ("eval_checker.eval_runner", "evaluate_task"),
    "ast_checker": ("eval_checker.ast_eval.ast_checker", "ast_checker"),
    "Language": ("constants.enums", "Language"),
    "generate_leaderboard_csv": ("eval_checker.eval_runner_helper", "generate_leaderboard_csv"),
    "convert_to_tool": ("model_handler.utils", "convert_to_tool"),
    "GORILLA_TO_OPENAPI": ("constants.type_mappings", "GORILLA_TO_OPENAPI"),
    "ModelStyle": ("constants.enums", "ModelStyle"),
    "load_dataset_entry": ("utils", "load_dataset_entry"),
    "load_file": ("utils", "load_file"),
    "update_leaderboard_table_with_local_score_file": (
        "eval_checker.eval_runner_helper",
        "update_leaderboard_table_with_local_score_file",
    ),
    "ReturnFormat": ("constants.enums", "ReturnFormat"),
}
__all__ = [
    *_EXPORTS, "api_fc", "cached_instances", "instance_cache_cleared", "multi_turn_utils", "prompting_handler",
    "qwen_fc", "register_model",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    # lazy, so importing this helper does not import bfcl_eval before conftest has set its project root
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    return getattr(_import(module), attribute)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


class _TreeSitterStandIn:
    """`tree_sitter.Language` / `Parser`: BFCL constructs both when its Java/JS parser modules load; parsing (never
    reached by multi-turn Python code) fails loudly instead of returning nonsense."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_language(self, language: Any) -> None:
        pass

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError("tree_sitter is not installed: BFCL's Java/JavaScript parsers are unavailable")


def _module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name, "stand-in installed by tests/bfcl_official.py while importing bfcl_eval")
    vars(module).update(attributes)
    return module


def _stand_ins() -> dict[str, types.ModuleType]:
    third_party = {
        "tree_sitter": _module("tree_sitter", Language=_TreeSitterStandIn, Parser=_TreeSitterStandIn),
        "tree_sitter_java": _module("tree_sitter_java", language=lambda: None),
        "tree_sitter_javascript": _module("tree_sitter_javascript", language=lambda: None),
        "requests": _module("requests"),
    }
    absent = {
        name: m for name, m in third_party.items() if name not in sys.modules and not importlib.util.find_spec(name)
    }
    registry = "bfcl_eval.constants.model_config"
    if registry not in sys.modules:  # the real one imports every vendor SDK (see the module docstring)
        absent[registry] = _module(registry, MODEL_CONFIG_MAPPING={})
    return absent


@contextmanager
def _absent_modules_stood_in() -> Iterator[None]:
    added = _stand_ins()
    sys.modules.update(added)
    try:
        yield
    finally:
        for name, module in added.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def _import(module: str) -> types.ModuleType:
    full = f"bfcl_eval.{module}"
    if full in sys.modules:
        return sys.modules[full]
    bfcl.ensure_project_root()  # bfcl_eval creates directories under its project root on first import
    with _absent_modules_stood_in():
        return importlib.import_module(full)


def multi_turn_utils() -> types.ModuleType:
    """bfcl_eval's `multi_turn_utils` module, whose globals() hold the executor's instance cache."""
    return _import("eval_checker.multi_turn_eval.multi_turn_utils")


@cache
def qwen_fc() -> Any:
    """A real `QwenFCHandler` (hermes-style `<tool_call>` decoding). Constructing it only builds an OpenAI client
    object for a local server; nothing connects."""
    handler = _import("model_handler.local_inference.qwen_fc").QwenFCHandler
    return handler(model_name="Qwen/Qwen3-8B", temperature=0.0, registry_name="funreason-parity", is_fc_model=True)


@cache
def prompting_handler() -> Any:
    """A real `OSSHandler`: the prompting decoder every local prompting model inherits
    (`decode_execute` = `default_decode_execute_prompting`)."""
    handler = _import("model_handler.local_inference.base_oss_handler").OSSHandler
    return handler(model_name="funreason-parity", temperature=0.0, registry_name="funreason-parity", is_fc_model=False)


@cache
def api_fc() -> Any:
    """A real `OpenAICompletionsHandler` in FC mode: the decoder of BFCL's FC result layout
    (`[{name: "<JSON args>"}]` per step; `decode_execute` = `convert_to_function_call`). The OpenAI client it builds
    needs some API key to construct; it never connects."""
    import os

    handler = _import("model_handler.api_inference.openai_completion").OpenAICompletionsHandler
    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = saved or "unused-by-tests"
    try:
        return handler(model_name="gpt-4o", temperature=0.0, registry_name="funreason-parity-fc", is_fc_model=True)
    finally:
        if saved is None:
            del os.environ["OPENAI_API_KEY"]


def register_model(model_dir_name: str, underscore_to_dot: bool = False, **fields: Any) -> str:
    """Make `model_dir_name` known to BFCL's model registry as its checker and CSV writer read it (the stand-in
    registry is empty): `underscore_to_dot` for dotted function names, `display_name`, `url`, `org`, `license` and
    prices (none: a local model) for the leaderboard CSVs. Returns the name to pass as `model_name`."""
    _import("eval_checker.ast_eval.ast_checker")
    _import("eval_checker.eval_runner_helper")
    config = types.SimpleNamespace(
        underscore_to_dot=underscore_to_dot, display_name=model_dir_name, url="N/A", org="N/A", license="N/A",
        input_price=None, output_price=None,
    )  # fmt: skip
    vars(config).update(fields)
    for name, module in list(sys.modules.items()):
        registry = getattr(module, "MODEL_CONFIG_MAPPING", None) if name.startswith("bfcl_eval.") else None
        if isinstance(registry, dict):  # each bfcl_eval module that imported the registry holds its dict
            registry[model_dir_name.replace("_", "/")] = config
    return model_dir_name


def _cache_prefix(model_name: str) -> str:
    # execute_multi_turn_func_call's key is re.sub(r"[-./:]", "_", f"{model}_{entry_id}_{class}_instance"); the
    # checker also runs ground truth under f"{model}_ground_truth"
    return re.sub(r"[-./:]", "_", model_name) + "_"


def cached_instances(model_name_prefix: str) -> list[str]:
    """Names of BFCL-cached backend instances whose model name starts with `model_name_prefix`."""
    prefix = re.sub(r"[-./:]", "_", model_name_prefix)
    return [k for k in vars(multi_turn_utils()) if k.startswith(prefix) and k.endswith("_instance")]


@contextmanager
def instance_cache_cleared(model_name: str) -> Iterator[str]:
    """Yields `model_name`; on exit (also on failure) deletes every instance BFCL cached under it, so the next
    entry starts from fresh backends and the cache does not grow for the rest of the session."""
    try:
        yield model_name
    finally:
        namespace = vars(multi_turn_utils())
        for key in cached_instances(_cache_prefix(model_name)):
            del namespace[key]
