"""Where every stage of a run reads and writes: the one place that names a run's paths.

    layout = RunLayout.of(recipe)
    layout.dataset            # <run_dir>/synth/dataset (what sft and grpo train on by default)
    layout.sft_final          # <sft.output_dir or run_dir/sft>/final (what grpo starts from, what eval calls `sft`)
    layout.eval_dir("sft")    # <run_dir>/eval/sft

`sft.output_dir` and `grpo.output_dir` move a training stage's outputs for every consumer at once: the stage
itself, `funreason run`'s summary, GRPO's starting policy and the models eval finds. Paths are as the recipe gives
them (relative to the working directory, like every path in a recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGES = ("synth", "sft", "grpo", "eval", "report")
FINAL = "final"  # a training stage's finished model, under its output dir


@dataclass(frozen=True)
class RunLayout:
    run_dir: Path
    sft_dir: Path
    grpo_dir: Path

    @classmethod
    def of(cls, recipe: Any) -> RunLayout:
        run_dir = Path(recipe.run_dir)
        sft_out = getattr(recipe.sft, "output_dir", None)
        grpo_out = getattr(recipe.grpo, "output_dir", None)
        return cls(
            run_dir, Path(sft_out) if sft_out else run_dir / "sft", Path(grpo_out) if grpo_out else run_dir / "grpo"
        )

    @classmethod
    def at(cls, run_dir: str | Path) -> RunLayout:
        """The layout of a run dir named on a command line (`funreason report RUN_DIR`): default stage dirs."""
        run_dir = Path(run_dir)
        return cls(run_dir, run_dir / "sft", run_dir / "grpo")

    # --- stages ------------------------------------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        """Where a stage writes (and where `funreason run` keeps its DONE.json)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        return {"sft": self.sft_dir, "grpo": self.grpo_dir}.get(stage, self.run_dir / stage)

    def done_file(self, stage: str) -> Path:
        return self.stage_dir(stage) / "DONE.json"

    @property
    def resolved_recipe(self) -> Path:
        return self.run_dir / "recipe.yaml"

    @property
    def bfcl_root(self) -> Path:
        """bfcl_eval's writable project root (it creates result/, score/ and lock dirs there on import)."""
        return self.run_dir / "bfcl_root"

    # --- synth -------------------------------------------------------------------------------------------
    @property
    def synth_dir(self) -> Path:
        return self.run_dir / "synth"

    @property
    def dataset(self) -> Path:
        return self.dataset_in(self.synth_dir)

    @staticmethod
    def dataset_in(synth_dir: str | Path) -> Path:
        """The dataset a synthesis writing into `synth_dir` makes (`funreason synth --out` may name any dir)."""
        return Path(synth_dir) / "dataset"

    # --- training ----------------------------------------------------------------------------------------
    @property
    def sft_final(self) -> Path:
        return self.sft_dir / FINAL

    @property
    def grpo_final(self) -> Path:
        return self.grpo_dir / FINAL

    def checkpoint(self, name: str, base_model: str | Path) -> Path:
        """The model eval calls `name`: `base` (the recipe's model), `sft` or `grpo` (that stage's final model)."""
        paths = {"base": Path(base_model), "sft": self.sft_final, "grpo": self.grpo_final}
        if name not in paths:
            raise ValueError(f"unknown model {name!r}; models are base, sft, grpo")
        return paths[name]

    # --- eval and report ---------------------------------------------------------------------------------
    @property
    def eval_root(self) -> Path:
        return self.run_dir / "eval"

    def eval_dir(self, label: str) -> Path:
        return self.eval_root / label

    @property
    def report_dir(self) -> Path:
        return self.run_dir / "report"
