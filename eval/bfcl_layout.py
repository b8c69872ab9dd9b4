"""BFCL v4's file layout, in one place: category names and groups, file names, result and score paths, the
inference-error marker and the tool-call formats. Every other module asks here (tests/eval/test_bfcl_layout.py fails on
the version prefix written anywhere else).

    from funreason.eval import bfcl_layout as layout
    layout.result_path(model_dir, "simple_python")   # <model_dir>/non_live/BFCL_v4_simple_python_result.json
    layout.result_path(model_dir, "base")            # <model_dir>/multi_turn/BFCL_v4_multi_turn_base_result.json
    layout.score_path(score_model_dir, "memory_kv")  # <score>/<model>/agentic/memory/kv/BFCL_v4_memory_kv_score.json
    layout.kind_of("memory_kv_prereq")               # "agentic": which episode kind the runner drives it as
    layout.inference_error("prompt too long")        # "Error during inference: prompt too long"

A model's result (and score) folder holds one sub-folder per group:
  multi_turn/BFCL_v4_multi_turn_<cat>_result.json          multi-turn (BFCL's four, or a question file's own)
  non_live/, live/BFCL_v4_<cat>_result.json                single-turn AST and (ir)relevance
  agentic/memory/<kv|vector|rec_sum>/BFCL_v4_memory_<backend>[_prereq]_result.json, agentic/BFCL_v4_web_search_*
  format_sensitivity/BFCL_v4_format_sensitivity_result.json
Multi-turn categories go by two names: the short one the data and recipes use (`base`; a question file's ids name
their own, e.g. `synthheld_0` -> `synthheld`) and the file name's (`multi_turn_base`). Any category that is not
single-turn, format sensitivity or agentic is multi-turn: that is what lets a question file bring its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from funreason.chat.formats import FORMATS as _TOOL_FORMATS
from funreason.envs.bfcl import MULTI_TURN_CATEGORIES

VERSION_PREFIX = "BFCL_v4"
INFERENCE_ERROR = "Error during inference"  # BFCL's inference-error result: a string where the turns would be
# ... and what BFCL's checkers say of such a row
INFERENCE_ERROR_VERDICT = "Error during inference phase. Model did not output a list of model responses."
TOOL_FORMATS = tuple(_TOOL_FORMATS)  # what the runner generates in
FORMATS = (*TOOL_FORMATS, "fc")  # what the scorer reads: plus BFCL's API function-calling layout (eval/fc.py)

MULTI_TURN_PREFIX = "multi_turn_"
MULTI_TURN = tuple(MULTI_TURN_PREFIX + c for c in MULTI_TURN_CATEGORIES)  # BFCL's, by file name
NON_LIVE = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple", "irrelevance")  # fmt: skip
LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance")
SINGLE_TURN = NON_LIVE + LIVE
V3_NAMES = {"simple": "simple_python", "java": "simple_java", "javascript": "simple_javascript"}
FORMAT_SENSITIVITY = "format_sensitivity"
MEMORY = ("memory_kv", "memory_vector", "memory_rec_sum")
WEB_SEARCH = ("web_search_base", "web_search_no_snippet")
AGENTIC = MEMORY + WEB_SEARCH
PREREQ = "_prereq"  # memory prerequisite conversations: `memory_kv_prereq` (category), `memory_kv_prereq_3-x-1` (id)
EXECUTABLE = ("exec_simple", "exec_multiple", "exec_parallel", "exec_parallel_multiple", "rest", "sql", "chatable")
GROUPS = ("multi_turn", "non_live", "live", "agentic", "format_sensitivity")  # the sub-folders of a model dir
KINDS = ("multi_turn", "single_turn", "agentic")  # the episode kinds the runner drives (eval/runner.py)

RESULT_NAME = re.compile(rf"^{VERSION_PREFIX}_(\w+?)_result\.json$")
SCORE_NAME = re.compile(rf"^{VERSION_PREFIX}_(\w+?)_score\.json$")
RESULT_GLOB = f"{VERSION_PREFIX}_*_result.json"
SCORE_GLOB = f"{VERSION_PREFIX}_*_score.json"


def base_category(category: str) -> str:
    """`memory_kv_prereq` -> `memory_kv`."""
    return category.removesuffix(PREREQ)


def is_prereq(entry_id_or_category: str) -> bool:
    return PREREQ in entry_id_or_category  # bfcl_eval.utils.is_memory_prereq


def kind_of(category: str) -> str:
    """The episode kind a category runs as (one of KINDS); a category BFCL does not name is multi-turn."""
    if category in SINGLE_TURN or category in V3_NAMES or category == FORMAT_SENSITIVITY:
        return "single_turn"
    if base_category(category) in AGENTIC:
        return "agentic"
    return "multi_turn"


def file_category(category: str) -> str:
    """The name a category's files carry: multi-turn short names get `multi_turn_`; v3 single-turn names their v4
    one; every other name is already its file name."""
    category = V3_NAMES.get(category, category)
    if kind_of(category) == "multi_turn" and not category.startswith(MULTI_TURN_PREFIX):
        return MULTI_TURN_PREFIX + category
    return category


def group_of(category: str) -> str:
    """The sub-folder of a model's result (and score) dir that holds a category's file, e.g. `live`,
    `agentic/memory/kv`."""
    category = file_category(category)
    if category == FORMAT_SENSITIVITY:
        return FORMAT_SENSITIVITY
    if category in SINGLE_TURN:
        return "live" if category.startswith("live_") else "non_live"
    base = base_category(category)
    if base in MEMORY:
        return f"agentic/memory/{base.removeprefix('memory_')}"
    if base in WEB_SEARCH:
        return "agentic"
    return "multi_turn"


def data_file_name(category: str) -> str:
    """BFCL's question (and possible-answer) file name for a category: `BFCL_v4_<category>.json`."""
    return f"{VERSION_PREFIX}_{category}.json"


def result_file_name(category: str) -> str:
    return f"{VERSION_PREFIX}_{file_category(category)}_result.json"


def score_file_name(category: str) -> str:
    return f"{VERSION_PREFIX}_{file_category(category)}_score.json"


def result_path(model_result_dir: str | Path, category: str) -> Path:
    """`<model_dir>/<group>/BFCL_v4_<category>_result.json` (short multi-turn names accepted)."""
    return Path(model_result_dir) / group_of(category) / result_file_name(category)


def score_path(model_score_dir: str | Path, category: str) -> Path:
    """`<score>/<model>/<group>/BFCL_v4_<category>_score.json`: the result file's place in the score tree."""
    return Path(model_score_dir) / group_of(category) / score_file_name(category)


def snapshot_dir(model_result_dir: str | Path, category: str) -> Path:
    """`<model_dir>/agentic/memory/<backend>/memory_snapshot` (BFCL MemoryAPI._prepare_snapshot's folder)."""
    return Path(model_result_dir) / group_of(category) / "memory_snapshot"


def model_dir_name(label: str) -> str:
    """BFCL's result directory name for a model: '/' becomes '_'."""
    return label.replace("/", "_")


def inference_error(message: str) -> str:
    """The `result` of a row whose inference failed (BFCL's inference_error)."""
    return f"{INFERENCE_ERROR}: {message}"


def is_inference_error(result) -> bool:
    return isinstance(result, str) and result.startswith(INFERENCE_ERROR)
