"""Environment rollouts for GRPO: the policy works through one user turn against live BFCL backends.

    from funreason.train.rollout import EnvRollout, RolloutGRPOTrainer, reward_functions
    rollout = EnvRollout(tokenizer, recipe.chat, max_tool_steps=20, max_completion_length=1024)
    trainer = RolloutGRPOTrainer(model=..., args=grpo_config, train_dataset=tasks_to_dataset(tasks),
                                 reward_funcs=reward_functions(), rollout_func=rollout, processing_class=tokenizer)
    episodes = rollout.run(tasks, generate)        # without a trainer: `generate(list of ids) -> (ids, logprobs)`

Design decision: TRL's built-in tool loop (`tools=` / `environment_factory=`) parses only the hermes format and
builds tool schemas from Python methods, so RL prompts would differ from eval prompts. We use GRPOTrainer's
`rollout_func` instead and drive *our* renderer (`chat.render`) and dispatcher (`envs.dispatch`) for both tool-call
formats, so an RL prompt is token-identical to the eval prompt for the same conversation (invariant 1 of docs/design.md) and
tool results are rendered exactly as in SFT and eval.

One rollout is BFCL's inner loop for one turn, each step the `chat.step.take_step` that `eval/runner.py` takes:
generate; parse in the recipe's format; no calls (or a decode error) ends the turn; else execute the calls, append
the tool results, generate again, at most `max_tool_steps` times. The sequence TRL trains on is prompt + [step 1 +
tool results + step 2 + ...]: generated tokens are kept as generated (never re-tokenized), and the tool-result
tokens between steps (`env_mask` 0) are excluded from the loss. Generation goes through the trainer's own backend (`GRPOTrainer._generate_single_turn`, the
call TRL's tool loop makes): vLLM colocate/server on GPU (`use_vllm`), transformers on CPU.

The TRL-side rewards (`turn_success`, `partial_credit`, `format`) score each finished episode with `envs.rewards`;
TRL logs them as `rewards/<name>/mean` (all three always; `grpo.turn_reward` decides whether the strict or the
partial turn term is weighted), and the rollout logs its cost as `rollout/{generation,environment,render}_s`.
With `grpo.dynamic_sampling` the rollout finds the groups whose rewards are all equal, rolls them out again or marks
them to be left out of the loss (train/dynamic_sampling.py), and logs `dynamic_sampling/*`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from funreason.chat.messages import merge_tool_results
from funreason.chat.render import render_prompt
from funreason.chat.step import take_step
from funreason.core.sections.chat import ChatOptions
from funreason.envs import rewards
from funreason.envs.dispatch import Dispatcher, is_execution_error
from funreason.train.dynamic_sampling import find_groups, resample_flat_groups
from funreason.train.egpo import entropy_advantages, reasoning_mask
from funreason.train.rl_tasks import RLTask
from trl import GRPOTrainer

Generate = Callable[[list[list[int]]], tuple[list[list[int]], list[list[float]] | None]]


@dataclass
class RolloutEpisode:
    """One rollout: a task, its live environment, and the token sequence TRL trains on."""

    task: RLTask
    instances: dict[str, object]
    dispatcher: Dispatcher
    messages: list[dict]
    prompt_ids: list[int]
    results: list[str] = field(default_factory=list)  # execution results of all turns so far (BFCL response check)
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] | None = field(default_factory=list)
    steps_ok: list[bool] = field(default_factory=list)
    num_calls: int = 0
    num_errors: int = 0
    steps: int = 0
    finished: bool = False  # the turn ended on its own (no calls left), not cut by length or the step cap
    done: bool = False

    def turn_success(self) -> float:
        gt_instances, gt_results = self.task.expected()
        return rewards.turn_success(
            self.instances, gt_instances, self.results, gt_results, self.num_calls, self.task.turn_index
        )

    def partial_credit(self) -> float:
        gt_instances, gt_results = self.task.expected()
        start_instances, _ = self.task.restore()
        return rewards.partial_credit(
            self.instances, gt_instances, start_instances, self.results, gt_results, self.num_calls
        )

    def format_score(self) -> float:
        _, gt_results = self.task.expected()
        acted = rewards.acted_as_needed(self.num_calls, gt_results)
        return rewards.format_score(self.steps_ok, self.finished, acted)


class EnvRollout:
    """A `rollout_func` for GRPOTrainer, and a trainer-free `run(tasks, generate)` for tests and benchmarks."""

    def __init__(
        self,
        tokenizer,
        options: ChatOptions,
        max_tool_steps: int = 20,
        max_completion_length: int = 1024,
        dynamic_sampling: str = "none",
        resample_tries: int = 0,
        weights: list[float] | None = None,
    ):
        self.tokenizer = tokenizer
        self.options = options
        self.max_tool_steps = max_tool_steps
        self.max_completion_length = max_completion_length
        self.dynamic_sampling = dynamic_sampling  # none | skip | resample (train/dynamic_sampling.py)
        self.resample_tries = resample_tries if dynamic_sampling == "resample" else 0
        self.weights = weights or reward_weights("strict", 1.0, 0.0)
        self.skip_mask: list[int] | None = None  # the last batch's rollouts to leave out of the loss
        self.stop_ids = {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None}
        self.timings = {"generation_s": 0.0, "environment_s": 0.0, "render_s": 0.0}

    # --- one episode -----------------------------------------------------------------------------------------
    def start(self, task: RLTask) -> RolloutEpisode:
        t0 = time.perf_counter()
        instances, results = task.restore()
        t1 = time.perf_counter()
        messages = merge_tool_results(list(task.messages), self.options.tool_results)  # earlier turns' results
        prompt_ids = list(render_prompt(self.tokenizer, messages, task.tools, self.options).ids)
        self.timings["environment_s"] += t1 - t0
        self.timings["render_s"] += time.perf_counter() - t1
        return RolloutEpisode(task, instances, Dispatcher(instances), messages, prompt_ids, results)

    def tool_suffix_ids(self, assistant: dict, tool_msgs: list[dict], tools: list[dict]) -> list[int]:
        """Tokens of the tool results plus the next generation prompt, as chat renders them after an assistant step.

        Rendered behind a stand-in exchange (as TRL's `_get_tool_suffix_ids` does) so the generated tokens are never
        re-tokenized: the suffix is everything after the stand-in assistant's end-of-message token.
        """
        eos = self.tokenizer.eos_token_id
        head = [{"role": "user", "content": "."}, {k: v for k, v in assistant.items() if k != "reasoning_content"}]
        ends_before = render_prompt(self.tokenizer, head[:1], tools, self.options).ids.count(eos) + 1
        after = list(render_prompt(self.tokenizer, head + tool_msgs, tools, self.options).ids)
        ends = [i for i, t in enumerate(after) if t == eos]
        if len(ends) <= ends_before:
            raise RuntimeError("chat.render gave no tool-result turn after the assistant message")
        return after[ends[ends_before - 1] + 1 :]

    def advance(self, ep: RolloutEpisode, new_ids: list[int], new_logprobs: list[float] | None) -> None:
        """Consume one generated step (`chat.step.take_step`, as eval's runner takes it) and splice the tool results."""
        ep.steps += 1
        room = self.max_completion_length - len(ep.completion_ids)
        ep.completion_ids += new_ids[:room]
        ep.env_mask += [1] * len(new_ids[:room])
        if ep.logprobs is not None:
            ep.logprobs = None if new_logprobs is None else ep.logprobs + list(new_logprobs[:room])
        if not new_ids or new_ids[-1] not in self.stop_ids or len(new_ids) > room:
            ep.steps_ok.append(False)  # cut off by the length budget: no well-formed end of message
            ep.done = True
            return
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        env_s = 0.0

        def execute(calls):
            nonlocal env_s
            t = time.perf_counter()
            try:
                return ep.dispatcher.execute_all(calls)
            finally:
                env_s += time.perf_counter() - t

        t0 = time.perf_counter()
        step = take_step(text, self.options, ep.task.tools, execute)
        ep.messages.append(step.assistant_message)
        ep.steps_ok.append(step.well_formed)
        if step.ends_turn:
            self.timings["render_s"] += time.perf_counter() - t0
            ep.finished = ep.done = True
            return
        ep.num_calls += len(step.calls)
        ep.num_errors += sum(map(is_execution_error, step.results))
        ep.results += step.results
        ep.messages += step.tool_messages
        suffix = self.tool_suffix_ids(step.assistant_message, step.tool_messages, ep.task.tools)
        self.timings["environment_s"] += env_s
        self.timings["render_s"] += time.perf_counter() - t0 - env_s
        if len(ep.completion_ids) + len(suffix) >= self.max_completion_length or ep.steps >= self.max_tool_steps:
            ep.done = True  # the calls ran (the state counts); the turn is cut here
            return
        ep.completion_ids += suffix
        ep.env_mask += [0] * len(suffix)
        if ep.logprobs is not None:
            ep.logprobs += [0.0] * len(suffix)

    # --- a batch of episodes --------------------------------------------------------------------------------
    def run(self, tasks: list[RLTask], generate: Generate) -> list[RolloutEpisode]:
        """Roll out every task to the end of its turn, generating for all unfinished episodes together."""
        episodes = [self.start(task) for task in tasks]
        while True:
            active = [ep for ep in episodes if not ep.done]
            if not active:
                return episodes
            t0 = time.perf_counter()
            new_ids, new_logprobs = generate([ep.prompt_ids + ep.completion_ids for ep in active])
            self.timings["generation_s"] += time.perf_counter() - t0
            for i, ep in enumerate(active):
                self.advance(ep, list(new_ids[i]), None if new_logprobs is None else new_logprobs[i])

    @staticmethod
    def outputs(episodes: list[RolloutEpisode]) -> dict[str, Any]:
        """What TRL expects back from a rollout_func (plus `env_mask` and the episodes for the rewards)."""
        logprobs = [ep.logprobs for ep in episodes]
        return {
            "prompt_ids": [ep.prompt_ids for ep in episodes],
            "completion_ids": [ep.completion_ids for ep in episodes],
            "logprobs": None if any(lp is None for lp in logprobs) else logprobs,
            "env_mask": [ep.env_mask for ep in episodes],
            "episode": episodes,
        }

    def __call__(self, prompts: list, trainer: GRPOTrainer) -> dict[str, Any]:
        inputs = getattr(trainer, "rollout_inputs", None)
        if inputs is None or len(inputs) != len(prompts):
            raise RuntimeError("EnvRollout needs RolloutGRPOTrainer, which hands it the batch's task rows")
        tasks = [RLTask.from_json(row["task"]) for row in inputs]
        self.timings = dict.fromkeys(self.timings, 0.0)

        def generate(contexts):
            return trainer._generate_single_turn(contexts, None, {}, num_generations=1)

        episodes = self.run(tasks, generate)
        self.skip_mask = None
        if self.dynamic_sampling != "none":
            groups = find_groups([row["task"] for row in inputs], trainer.num_generations)
            episodes, counts = resample_flat_groups(
                episodes,
                groups,
                lambda ep: episode_reward(ep, self.weights),
                lambda members: self.run([ep.task for ep in members], generate),
                self.resample_tries,
            )
            self.skip_mask = counts.skip_mask(len(episodes))
            for name, value in counts.metrics().items():
                trainer._log_metric(name, value)
        for name, value in self.timings.items():
            trainer._log_metric(f"rollout/{name}", value)
        trainer._log_metric("rollout/steps_mean", sum(ep.steps for ep in episodes) / len(episodes))
        trainer._log_metric("rollout/calls_mean", sum(ep.num_calls for ep in episodes) / len(episodes))
        calls = sum(ep.num_calls for ep in episodes)
        trainer._log_metric("rollout/tool_error_frequency", sum(ep.num_errors for ep in episodes) / max(calls, 1))
        return self.outputs(episodes)


# --- rewards in TRL's signature (the function name is the logged name) -----------------------------------------
def turn_success(completions, episode, **_) -> list[float]:
    """BFCL turn success: state equal to the ground truth's after the turn, GT results contained in the model's."""
    return [ep.turn_success() for ep in episode]


def partial_credit(completions, episode, **_) -> list[float]:
    """Share of the turn's ground-truth state changes and results reproduced (`envs.rewards.partial_credit`)."""
    return [ep.partial_credit() for ep in episode]


def format(completions, episode, **_) -> list[float]:  # noqa: A001 - the name TRL logs (rewards/format/mean)
    """Every step parsed in the recipe's tool-call format, the turn ended on its own, and it acted as needed."""
    return [ep.format_score() for ep in episode]


def reward_functions() -> list[Callable]:
    """In the order of `reward_weights(section)`: turn success, partial credit, format. All three are always
    computed and logged (`rewards/<name>/mean`); the recipe's `grpo.turn_reward` decides which turn term counts."""
    return [turn_success, partial_credit, format]


def reward_weights(turn_reward: str, turn_weight: float, format_weight: float) -> list[float]:
    """TRL's `reward_weights` for `reward_functions()`: the chosen turn term gets `turn_weight`, the other 0."""
    strict = turn_reward == "strict"
    return [turn_weight if strict else 0.0, 0.0 if strict else turn_weight, format_weight]


def episode_reward(ep: RolloutEpisode, weights: list[float]) -> float:
    """The reward TRL will sum for one episode (what dynamic sampling needs before TRL sees the batch)."""
    return sum(w * f(None, [ep])[0] for w, f in zip(weights, reward_functions(), strict=True) if w)


class RolloutGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that hands the batch's rows to the rollout_func and optionally applies the EGPO advantage.

    TRL passes a rollout_func only the prompts; the environment needs the task (initial state, ground truth), so the
    rows are exposed as `self.rollout_inputs` for the duration of the step.
    """

    def __init__(self, *args, egpo: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.egpo = egpo  # {"alpha", "kappa", "scope", "think_prefill"} or None

    def _generate_and_score_completions(self, inputs):
        self.rollout_inputs = inputs
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            self.rollout_inputs = None
        if self.egpo is not None and self.model.training:
            output["advantages"] = self._egpo_advantages(output)
        skip = getattr(self.rollout_func, "skip_mask", None)
        if skip is not None and any(skip) and self.model.training:
            # Dynamic sampling: flat groups leave the loss (and its token normalization) altogether.
            keep = torch.tensor([1 - s for s in skip], device=output["completion_mask"].device)
            output["completion_mask"] = output["completion_mask"] * keep.unsqueeze(1).to(
                output["completion_mask"].dtype
            )
            if "num_items_in_batch" in output:
                # TRL counted the loss tokens before the mask changed; DAPO's loss divides by that count, so without
                # this a skipped group's tokens still dilute the others and `skip` trains exactly as `none` does
                # (measured: identical runs on the learning check).
                output["num_items_in_batch"] = self.accelerator.gather(_loss_mask(output).sum()).sum()
        return output

    def _egpo_advantages(self, output: dict) -> torch.Tensor:
        prompt_ids, completion_ids = output["prompt_ids"], output["completion_ids"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        with torch.no_grad():
            _, entropies, _ = self._get_per_token_logps_and_entropies(
                self.model,
                input_ids,
                attention_mask,
                completion_ids.size(1),
                batch_size=self.args.per_device_train_batch_size,
                compute_entropy=True,
            )
        mask = _loss_mask(output)
        if self.egpo["scope"] == "reasoning":
            vocab = self.processing_class.get_vocab()
            mask = mask * reasoning_mask(
                completion_ids, vocab.get("<think>"), vocab.get("</think>"), self.egpo["think_prefill"]
            ).to(mask.device)
        advantages = entropy_advantages(output["advantages"], entropies, mask, self.egpo["alpha"], self.egpo["kappa"])
        bonus = (advantages - output["advantages"].unsqueeze(1)) * mask
        self._metrics["train"]["egpo/bonus_mean"].append((bonus.sum() / mask.sum().clamp(min=1)).item())
        self._metrics["train"]["egpo/token_fraction"].append(mask.float().mean().item())
        return advantages


def _loss_mask(output: dict) -> torch.Tensor:
    """The completion tokens TRL's loss counts: generated (`completion_mask`) and not tool results (`tool_mask`)."""
    mask = output["completion_mask"]
    if output.get("tool_mask") is not None:
        mask = mask * output["tool_mask"]
    return mask
