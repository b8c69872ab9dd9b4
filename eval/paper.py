"""Published BFCL multi-turn numbers to print beside ours: quoted, never measured here.

    from eval.paper import PAPER_ROWS, PAPER_SOURCE

Source: FunReason-MT technical report v2 (arXiv 2510.24645), Table 2 (BFCL v3 multi-turn, leaderboard snapshot of
August 26, 2025), as re-checked in docs/funreason-mt.md §6.4. Values are accuracy in percent; MT Overall is the
unweighted mean of the four categories. BFCL's multi-turn data changed between v3 and v4 (bfcl.md §1.4), so these
rows are context, not a like-for-like comparison with scores measured on a bfcl-eval v4 install.
"""

from __future__ import annotations

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
