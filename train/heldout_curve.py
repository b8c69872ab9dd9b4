"""Held-out turn success during GRPO: every `grpo.heldout_every` steps, greedy rollouts on held-out tasks.

    from funreason.train.heldout_curve import HeldoutCallback, load_heldout_tasks
    tasks = load_heldout_tasks("runs/x/synth/heldout/valid_records.jsonl", limit=32, options=recipe.chat)
    callback = HeldoutCallback(rollout, tasks, every=10)
    trainer.add_callback(callback); callback.trainer = trainer      # heldout/* entries in trainer.state.log_history

Each held-out task is one user turn of a held-out trajectory (synth/heldout.py's valid split: states, values and
requests never trained on), restored from the ground truth of the turns before it, rolled out greedily through the
same `EnvRollout` GRPO trains with (same renderer, parser, dispatcher), and scored by `envs.rewards`: the share of
turns passed (BFCL's checker, `heldout/turn_success`) and the mean partial credit (`heldout/partial_credit`).
Each turn starts from the ground-truth history, so this is a per-turn figure; the end-of-run BFCL evaluation of the
test split (`funreason eval`) runs whole conversations on the model's own history.
"""

from __future__ import annotations

from pathlib import Path

import torch
from funreason.core.errors import UserError
from funreason.core.jsonl import iter_jsonl
from funreason.train.rl_tasks import RLTask, build_tasks
from transformers import TrainerCallback


def load_heldout_tasks(path: str | Path, limit: int, options) -> list[RLTask]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"grpo.heldout_every needs held-out records at {path} (funreason synth --heldout N)")
    return build_tasks((row for _, row in iter_jsonl(path)), limit=limit, options=options)


def transformers_generate(model, tokenizer, max_new_tokens: int, batch_size: int = 16, temperature: float = 0.0):
    """A `generate(contexts) -> (ids, None)` for `EnvRollout.run`: greedy (or sampled at `temperature` > 0, from
    the full distribution), left-padded, each reply cut after its first end-of-message token (as a served model
    would stop)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stops = {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None}
    sampling = {"do_sample": False}
    if temperature > 0:  # no top-k/top-p: what GRPO's rollouts draw from
        sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}

    def generate(contexts: list[list[int]]):
        replies = []
        for start in range(0, len(contexts), batch_size):
            chunk = contexts[start : start + batch_size]
            width = max(map(len, chunk))
            ids = torch.tensor([[pad] * (width - len(c)) + c for c in chunk], device=model.device)
            mask = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in chunk], device=model.device)
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                **sampling,
                pad_token_id=pad,
                eos_token_id=sorted(stops),
            )
            for row in out[:, width:].tolist():
                end = next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
                replies.append(row[:end])
        return replies, None

    return generate


def heldout_scores(rollout, tasks: list[RLTask], model, tokenizer, max_new_tokens: int) -> dict[str, float]:
    """Greedy rollouts of every task; the share of turns passed and the mean partial credit."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            episodes = rollout.run(tasks, transformers_generate(model, tokenizer, max_new_tokens))
    finally:
        model.train(was_training)
    n = max(len(episodes), 1)
    return {
        "heldout/turn_success": sum(ep.turn_success() for ep in episodes) / n,
        "heldout/partial_credit": sum(ep.partial_credit() for ep in episodes) / n,
    }


class HeldoutCallback(TrainerCallback):
    """Scores the held-out tasks at step 0 (before any update), every `every` steps, and at the end."""

    def __init__(self, rollout, tasks: list[RLTask], every: int):
        self.rollout, self.tasks, self.every = rollout, tasks, every
        self.trainer = None
        self.scored_steps: set[int] = set()

    def score(self, state) -> None:
        # An entry of its own in log_history (not trainer.log: at on_step_end that would flush, and so steal, the
        # GRPO metrics TRL is about to log for this step).
        step = state.global_step
        if self.trainer is None or step in self.scored_steps or not self.trainer.accelerator.is_main_process:
            return
        self.scored_steps.add(step)
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        tokenizer = self.trainer.processing_class
        scores = heldout_scores(self.rollout, self.tasks, model, tokenizer, self.rollout.max_completion_length)
        state.log_history.append({**scores, "heldout/tasks": len(self.tasks), "step": step})
        print(f"[grpo] step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))

    def on_train_begin(self, args, state, control, **kwargs):
        self.score(state)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every == 0:
            self.score(state)

    def on_train_end(self, args, state, control, **kwargs):
        self.score(state)
