"""RL tasks from synthesized trajectories: one task per user turn.

    from datasets import load_from_disk
    from funreason.train.rl_tasks import build_tasks, tasks_to_dataset
    tasks = build_tasks(load_from_disk("runs/smoke/synth/dataset"), options=recipe.chat)
    train_dataset = tasks_to_dataset(tasks)          # columns: prompt (the user's text, for logs), task (JSON)
    instances, results = tasks[3].restore()          # the environment as it was when turn 3 began
    gt_instances, gt_results = tasks[3].expected()   # ... and as the ground truth leaves it after turn 3

A task's prompt is the conversation up to and including its user turn, earlier turns as recorded, offered the
record's tools as `chat.tools.offered_docs` decides (as SFT and eval offer them); its environment is restored by
replaying the earlier turns' ground-truth calls in fresh instances (the same calls the recorded history made); its
expected outcome is that turn's ground truth replayed the same way. Instances come from `envs.resolve`, so tasks
of BFCL classes and of `module:Class` environments alike train.
A record whose `metadata.missed_function` ({user turn: [tool names]}, BFCL's miss_func) holds tools out gives
prompts as eval renders BFCL's miss_func entries (`chat.holdout`): those tools are absent before that turn, the
turn's user message is eval's holdout message, and in hermes with `chat.hermes_holdout: tools` the tasks from that
turn on offer the extended list. Such records need the recipe's chat options (`options=`).
Synth records are `{"messages", "tools", "metadata": {"environment_refs"?, "involved_classes", "initial_config",
"long_context", "turns": [{"ground_truth": [call strings]}, ...]}}`, one `turns` entry per user turn; a task's
`involved_classes` are the record's `environment_refs` when it has them (what resolves a custom class again).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from funreason.chat.holdout import holdout_conversation
from funreason.chat.tools import offered_docs
from funreason.core.errors import UserError
from funreason.core.jsonl import BadJson, lone_surrogate, parse_json
from funreason.core.sections.chat import ChatOptions
from funreason.envs.dispatch import Dispatcher
from funreason.envs.resolve import UnknownEnvironment, resolve_env
from tqdm.auto import tqdm


@dataclass
class RLTask:
    messages: list[dict] = field(metadata={"help": "The prompt: the conversation up to and including the user turn."})
    tools: list[dict] = field(metadata={"help": "The tool docs the prompt offers (chat.tools.offered_docs)."})
    involved_classes: list[str] = field(metadata={"help": "Environment references: BFCL names or module:Class."})
    initial_config: dict
    long_context: bool
    turn_index: int
    history: list[list[str]] = field(metadata={"help": "Ground-truth calls of the earlier turns, per turn."})
    ground_truth: list[str] = field(metadata={"help": "This turn's ground-truth calls."})
    source: str = ""

    def _replay(self, turns: list[list[str]]) -> tuple[dict[str, object], list[list[str]]]:
        env = resolve_env(self.involved_classes)
        instances = env.make_instances(self.initial_config, long_context=self.long_context)
        dispatcher = Dispatcher(instances)
        return instances, [dispatcher.execute_all(calls) for calls in turns]

    def restore(self) -> tuple[dict[str, object], list[str]]:
        """Fresh instances in the state this turn starts from, and the results of all earlier calls (flat)."""
        instances, results = self._replay(self.history)
        return instances, [r for turn in results for r in turn]

    def expected(self) -> tuple[dict[str, object], list[str]]:
        """Fresh instances after the ground truth of this turn, and this turn's ground-truth results."""
        instances, results = self._replay([*self.history, self.ground_truth])
        return instances, results[-1]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RLTask:
        return cls(**json.loads(text))


def _loads(value: Any) -> Any:
    # Synth may store nested columns as JSON text to keep Arrow from null-filling mixed structures.
    return parse_json(value) if isinstance(value, str) else value


def _turn_starts(messages: list[dict]) -> list[int]:
    """Index of the first user message of every user turn (consecutive user messages form one turn)."""
    starts = []
    for i, m in enumerate(messages):
        if m.get("role") == "user" and (i == 0 or messages[i - 1].get("role") != "user"):
            starts.append(i)
    return starts


def tasks_from_record(record: dict, where: str = "record", options: ChatOptions | None = None) -> list[RLTask]:
    """The RL tasks (one per user turn) of one synth record; `where` names the record in errors. `options` (the
    recipe's `chat:` section) decide how a miss_func record's holdout turn is rendered; required for those."""
    for key in ("messages", "tools", "metadata"):
        if key not in record:
            raise UserError(f"{where}: missing key '{key}'")
    try:
        messages, tools, meta = _loads(record["messages"]), _loads(record["tools"]), _loads(record["metadata"])
    except BadJson as e:  # RL task files refuse a bad row, naming it (docs/bad-input.md)
        raise UserError(f"{where}: {e}") from None
    unencodable = lone_surrogate([messages, tools])
    if unencodable:
        raise UserError(f"{where}: {unencodable}")
    for key in ("involved_classes", "initial_config", "turns"):
        if key not in meta:
            raise UserError(f"{where}: metadata has no '{key}'")
    turns = meta["turns"]
    calls = []
    for t, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("ground_truth"), list):
            raise UserError(f"{where}: metadata.turns[{t}] has no 'ground_truth' list of call strings")
        calls.append([str(c) for c in turn["ground_truth"]])
    refs = list(meta.get("environment_refs") or meta["involved_classes"])
    try:
        resolve_env(refs)  # fail here, naming the record, rather than in the middle of a rollout
    except UnknownEnvironment as e:
        raise UserError(f"{where}: {e}") from None
    offered = offered_docs(tools)
    starts = _turn_starts(messages)
    if len(starts) != len(turns):
        raise UserError(f"{where}: {len(starts)} user turns in 'messages' but {len(turns)} in metadata.turns")
    missed = meta.get("missed_function") or None
    if missed and options is None:
        raise UserError(f"{where}: holds tools out (missed_function); building its RL tasks needs the chat options")
    try:
        conv = holdout_conversation(messages, offered, missed, options or ChatOptions())
    except UserError as e:
        raise UserError(f"{where}: {e}") from None
    messages = conv.messages
    starts = _turn_starts(messages)
    tasks = []
    for t, start in enumerate(starts):
        end = start
        while end < len(messages) and messages[end].get("role") == "user":
            end += 1
        tasks.append(
            RLTask(
                messages=messages[:end],
                tools=conv.tools_at(end - 1),
                involved_classes=refs,
                initial_config=_loads(meta["initial_config"]) or {},
                long_context=bool(meta.get("long_context", False)),
                turn_index=t,
                history=calls[:t],
                ground_truth=calls[t],
                source=f"{where} turn {t}",
            )
        )
    return tasks


def build_tasks(dataset, limit: int | None = None, options: ChatOptions | None = None) -> list[RLTask]:
    """All tasks of a synth dataset (any iterable of records), in order, optionally the first `limit`; `options`
    as for `tasks_from_record`."""
    tasks: list[RLTask] = []
    for i, record in enumerate(tqdm(dataset, desc="RL tasks", unit="traj")):
        tasks.extend(tasks_from_record(record, where=f"dataset row {i}", options=options))
        if limit is not None and len(tasks) >= limit:
            return tasks[:limit]
    return tasks


def tasks_to_dataset(tasks: list[RLTask]):
    """A `datasets.Dataset` for GRPOTrainer: `prompt` (the user's text, shown in TRL's logs) and `task` (JSON)."""
    from datasets import Dataset  # deferred: heavy (pyarrow, pandas), and building tasks does not need it

    if not tasks:
        raise UserError("no RL tasks: the synth dataset has no user turns")
    return Dataset.from_list([{"prompt": str(t.messages[-1].get("content") or ""), "task": t.to_json()} for t in tasks])
