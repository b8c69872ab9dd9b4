"""Published BFCL numbers to print beside ours: quoted, never measured here.

    from funreason.eval.paper import PAPER_ROWS, PAPER_SOURCE, SINGLE_TURN_ROWS, AGENTIC_ROWS, LEADERBOARD_V4_ROWS

Source: FunReason-MT technical report v2 (arXiv 2510.24645), Table 2 (BFCL v3 multi-turn, leaderboard snapshot of
August 26, 2025), as re-checked in docs/funreason-mt.md §6.4. Values are accuracy in percent; MT Overall is the
unweighted mean of the four categories. BFCL's multi-turn data changed between v3 and v4 (bfcl.md §1.4), so these
rows are context, not a like-for-like comparison with scores measured on a bfcl-eval v4 install.
"""

from __future__ import annotations

from typing import NamedTuple

PAPER_SOURCE = "FunReason-MT tech report v2 (arXiv 2510.24645), Table 2, BFCL v3, leaderboard snapshot 2025-08-26"

# (model, MT overall, base, miss_func, miss_param, long_context)
PAPER_ROWS: list[tuple[str, float, float, float, float, float]] = [
    ("Qwen3-4B-Instruct-2507 (base)", 15.75, 19.00, 15.50, 12.50, 16.00),
    ("Qwen3-4B + FunReason-MT (SFT)", 46.90, 53.20, 47.10, 40.40, 46.90),
    ("Qwen3-4B + FunReason-MT (RL)", 57.75, 62.50, 60.50, 48.50, 59.50),
    ("xLAM-2-3b-fc-r", 57.12, 73.50, 55.00, 54.50, 45.50),
    ("Claude-Sonnet-4-20250514", 54.75, 64.00, 54.00, 47.50, 53.50),
    ("GPT-4o-2024-11-20", 42.50, 55.50, 34.50, 29.00, 51.00),
    ("Qwen3-235B-A22B-Inst-2507", 39.62, 53.50, 34.50, 27.50, 43.00),
]

# Single-turn and agentic rows, quoted from the same report (docs/funreason-mt.md §6.4, Tables 2 and 3): our three
# models plus the best open model of at most 4B parameters the paper lists (xLAM-2-3b-fc-r, which also leads it on
# multi-turn Base and Miss Param). The BFCL v4 leaderboard's own rows for small open models are LEADERBOARD_V4_ROWS.
SINGLE_TURN_SOURCE = "FunReason-MT tech report v2, Table 2 (BFCL v3 single-turn, leaderboard snapshot 2025-08-26)"

# (model, single-turn overall = mean(Non-Live, Live), Non-Live, Live)
SINGLE_TURN_ROWS: list[tuple[str, float, float, float]] = [
    ("Qwen3-4B-Instruct-2507 (base)", 78.19, 86.35, 70.02),
    ("Qwen3-4B + FunReason-MT (SFT)", 81.97, 83.36, 80.57),
    ("Qwen3-4B + FunReason-MT (RL)", 85.47, 89.58, 81.35),
    ("xLAM-2-3b-fc-r", 73.82, 83.31, 64.32),
]

AGENTIC_SOURCE = (
    "FunReason-MT tech report v2, Table 3 (BFCL v4 web search + memory; the paper's 'Overall' is the mean of the "
    "two, not BFCL's Agentic score computed the same way on other data)"
)

# (model, paper overall = mean(Web Search, Memory), Web Search, web base, web no-snippet, Memory, KV, Vector, RecSum)
AGENTIC_ROWS: list[tuple[str, float, float, float, float, float, float, float, float]] = [
    ("Qwen3-4B-Instruct-2507 (base)", 8.85, 5.00, 4.00, 6.00, 12.69, 11.61, 11.61, 14.84),
    ("Qwen3-4B + FunReason-MT (SFT)", 9.99, 9.00, 12.00, 6.00, 10.97, 1.29, 0.00, 31.61),
    ("Qwen3-4B + FunReason-MT (RL)", 15.10, 16.00, 20.00, 12.00, 14.19, 5.81, 0.00, 36.77),
    ("xLAM-2-3b-fc-r", 7.42, 1.50, 1.00, 2.00, 13.33, 4.52, 10.97, 24.52),
]


LEADERBOARD_V4_SOURCE = (
    "BFCL v4 leaderboard (gorilla.cs.berkeley.edu/leaderboard.html, last updated 2026-04-12: result set of "
    "2025-12-16, bfcl-eval 2025.12.17, gorilla commit f7cf735; per-entry scores in HuanzhiMao/BFCL-Result@6830ed1)"
)


class LeaderboardRow(NamedTuple):
    """One model's row of the BFCL v4 leaderboard, in percent. Overall is BFCL v4's 10/10/10/30/40 weighting of
    Non-Live, Live, Irrelevance, Multi-Turn and Agentic = mean(Web Search, Memory) (tests/eval/test_paper_rows.py
    recomputes it with eval.csvs for every row); Relevance is shown, not weighted."""

    model: str
    overall: float
    non_live: float
    live: float
    irrelevance: float
    multi_turn: float
    web_search: float
    memory: float
    relevance: float
    base: float
    miss_func: float
    miss_param: float
    long_context: float

    @property
    def agentic(self) -> float:
        return (self.web_search + self.memory) / 2


# The open models of at most 4B parameters with the best multi-turn scores on the board, and the base model this
# project trains (in both of BFCL's modes), best multi-turn first. Params are the nominal sizes in the names.
# Arch-Agent rows carry no FC/Prompt label on the board. Nanbeige4-3B-Thinking is a reasoning model. The board ran
# bfcl-eval 2025.12.17; a measured row here is scored with the installed release, so compare with care.
LEADERBOARD_V4_ROWS: list[LeaderboardRow] = [
    LeaderboardRow("xLAM-2-3b-fc-r (FC)", 41.22, 82.96, 62.92, 63.45, 58.38, 2.5, 11.40, 87.5, 71.5, 59, 57.5, 45.5),
    LeaderboardRow("Nanbeige4-3B-Thinking-2511 (FC)", 51.40, 81.58, 79.42, 83.09, 51.12, 21.5, 36.77, 75, 58.5, 54, 45, 47),
    LeaderboardRow("xLAM-2-1b-fc-r (FC)", 30.44, 69.04, 55.14, 64.47, 36.00, 0, 3.87, 87.5, 45.5, 36, 37, 25.5),
    LeaderboardRow("Arch-Agent-3B", 35.36, 86.67, 72.91, 74.67, 34.88, 0.5, 6.88, 68.75, 42, 37.5, 31, 29),
    LeaderboardRow("Arch-Agent-1.5B", 32.14, 82.67, 67.73, 74.83, 26.62, 0, 8.17, 75, 35.5, 27.5, 21.5, 22),
    LeaderboardRow("Qwen3-4B-Instruct-2507 (FC)", 35.68, 87.88, 76.39, 84.93, 22.12, 3.0, 17.63, 87.5, 26.5, 21, 15.5, 25.5),
    LeaderboardRow("Qwen3-4B-Instruct-2507 (Prompt)", 35.52, 86.44, 74.69, 75.87, 20.50, 4.5, 23.87, 87.5, 24.5, 21.5, 16, 20),
]  # fmt: skip
