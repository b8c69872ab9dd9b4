"""What the lockstep runner (eval/runner.py) drives: one BFCL entry as an episode of generation steps.

    class MyEpisode(Episode):
        def request(self) -> GenRequest | None: ...   # the pending prompt (None: the episode failed or is done)
        def advance(self, gen: Generation) -> None: ... # consume one reply; set `done` when finished
        def row(self) -> dict: ...                     # the result row BFCL's layout expects

Kinds: a multi-turn entry (eval/multi_turn.py), a single-turn entry, an episode of one step (eval/single_run.py),
and an agentic entry, a multi-turn one with memory prerequisites (eval/agentic_run.py). `start()` does the work
that may fail for a broken entry (making environments, reading state): the runner calls it under the same guard as
every step, so a broken entry becomes its own inference-error row and the others go on, as in BFCL.
"""

from __future__ import annotations

from pathlib import Path

from funreason.eval.backends import Generation, GenRequest


class Episode:
    def __init__(self, entry: dict, category: str, runner):
        self.entry = entry
        self.id: str = entry["id"]
        self.category = category  # the runner's name for the entry's group (its result file)
        self.r = runner
        self.done = False
        self.error: str | None = None
        self.error_trace = ""

    @classmethod
    def begin(cls, model_result_dir: Path, categories: list[str], resume: bool) -> None:
        """Once per run, before any episode of these categories starts (eval.agentic_run: clear memory)."""

    def start(self) -> None:
        """Set the episode up (may raise: the runner turns that into this entry's inference error)."""

    def request(self) -> GenRequest | None:
        raise NotImplementedError

    def advance(self, gen: Generation) -> None:
        raise NotImplementedError

    def row(self) -> dict:
        raise NotImplementedError

    def fail(self, message: str, trace: str = "") -> None:
        self.error = message
        self.error_trace = trace
        self.done = True
