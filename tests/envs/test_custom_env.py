"""A user's own environment (`tests.toy_env:ToyLibrary`) through every stage: data synthesized from it trains with
GRPO and evaluates with BFCL's loop and checker, all resolved by envs/resolve.py.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/envs/test_custom_env.py
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from funreason.chat import pythonic
from funreason.core.errors import UserError
from funreason.core.sections.chat import ChatOptions
from funreason.envs.dispatch import Dispatcher, parse_call
from funreason.envs.resolve import UnknownEnvironment, func_docs, resolve_env
from funreason.synth.assembly import synthesize_trajectory
from funreason.synth.dataset import save_dataset
from funreason.synth.teachers.template import TemplateTeacher

from tests.synth_configs import quiet_config
from tests.toy_env import ToyLibrary

TOY = "tests.toy_env:ToyLibrary"
OPTIONS = ChatOptions(tool_format="pythonic")


# --- the resolver ---------------------------------------------------------------------------------------------
def test_resolver_builds_bfcl_and_custom_classes_alike():
    env = resolve_env(["GorillaFileSystem", TOY])
    assert env.classes == ["GorillaFileSystem", "ToyLibrary"] and env.refs == ["GorillaFileSystem", TOY]
    config = env.generate_config(random.Random(0))
    instances = env.make_instances(config)
    assert (
        isinstance(instances["ToyLibrary"], ToyLibrary)
        and instances["ToyLibrary"].books == config["ToyLibrary"]["books"]
    )
    assert [d["name"] for d in func_docs([TOY])] == ["book_info", "checkout", "find_book", "login", "renew"]
    assert func_docs(["GorillaFileSystem", TOY]) == env.docs()
    # A config keyed by the full reference is read too; the caller's config is never mutated.
    toy = ToyLibrary.generate_config(random.Random(1))
    before = json.dumps(toy)
    (title,) = [b["title"] for b in toy["books"].values()][:1]
    library = resolve_env([TOY]).make_instances({TOY: toy})["ToyLibrary"]
    assert json.loads(Dispatcher({"ToyLibrary": library}).execute(f"find_book(title={title!r})"))["book_id"]
    assert json.dumps(toy) == before


def test_a_module_in_the_working_directory_resolves_from_a_script_run_by_path(tmp_path):
    """`accelerate launch train/grpo.py` puts train/ first on sys.path, not the user's folder: a `module:Class` that
    synthesis found (run as `python -m`, from the working directory) must still import in the training script."""
    (tmp_path / "my_env.py").write_text(Path(inspect.getsourcefile(ToyLibrary)).read_text())
    script = tmp_path / "scripts" / "train.py"
    script.parent.mkdir()
    script.write_text(
        "from funreason.envs.resolve import resolve_env\nprint(resolve_env(['my_env:ToyLibrary']).classes)\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ToyLibrary']"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("ToyLibrary", "unknown environment 'ToyLibrary'; use one of"),
        ("tests.toy_env:Nope", "cannot import environment 'tests.toy_env:Nope'"),
        ("no_such_module:X", "cannot import environment 'no_such_module:X'"),
        ("tests.toy_env:_TITLES", "is not a class"),
        ("json:JSONDecoder", r"'json:JSONDecoder' is not an environment: its tool docs are not JSON"),
        ("collections:OrderedDict", r"'collections:OrderedDict' is not an environment: it has no public methods"),
    ],
)
def test_unknown_environments_are_user_errors(ref, message):
    with pytest.raises(UnknownEnvironment, match=message) as info:
        resolve_env([ref]).make_instances({})
    assert isinstance(info.value, UserError)


# --- data synthesized from the toy environment ----------------------------------------------------------------
@pytest.fixture(scope="module")
def records() -> list[dict]:
    config = quiet_config(environments=[TOY], rounds=[1, 2], trace_length=[1, 3])
    outs = [asyncio.run(synthesize_trajectory(i, config, 3, TemplateTeacher())) for i in range(4)]
    found = [o.record for o in outs if o.record is not None]
    assert len(found) >= 3
    for record in found:
        assert record["metadata"]["environment_refs"] == [TOY]
        assert record["metadata"]["involved_classes"] == ["ToyLibrary"]
    return found


@pytest.fixture(scope="module")
def dataset(records, tmp_path_factory) -> Path:
    return save_dataset(records, tmp_path_factory.mktemp("toy_synth") / "dataset")


def user_turns(messages: list[dict]) -> list[list[dict]]:
    """The user messages of every user turn (consecutive user messages form one turn)."""
    turns: list[list[dict]] = []
    for i, m in enumerate(messages):
        if m["role"] == "user":
            if i == 0 or messages[i - 1]["role"] != "user":
                turns.append([])
            turns[-1].append({"role": "user", "content": m["content"]})
    return turns


def test_rl_tasks_restore_the_toy_environment(records):
    from funreason.train.rl_tasks import build_tasks

    tasks = build_tasks(records)
    assert len(tasks) == sum(len(r["metadata"]["turns"]) for r in records)
    for task in tasks:
        assert task.involved_classes == [TOY]
        instances, _ = task.restore()
        assert isinstance(instances["ToyLibrary"], ToyLibrary)
    # Each turn's ground truth, replayed on the restored state, gives the results the record shows.
    record = records[0]
    recorded = [m["content"] for m in record["messages"] if m["role"] == "tool"]
    replayed = [r for task in build_tasks([record]) for r in task.expected()[1]]
    assert replayed == recorded


def test_rl_task_with_an_unknown_environment_names_the_row(records):
    from funreason.train.rl_tasks import build_tasks

    broken = json.loads(json.dumps(records[0]))
    broken["metadata"]["environment_refs"] = ["tests.toy_env:Gone"]
    with pytest.raises(UserError, match="dataset row 1: cannot import environment 'tests.toy_env:Gone'"):
        build_tasks([records[0], broken])


def test_scripted_rollout_on_the_toy_environment_earns_bfcls_reward(records, tiny_tokenizer):
    """Replaying a turn's ground truth as the policy's reply passes BFCL's turn check in the toy environment."""
    from funreason.train.rl_tasks import build_tasks
    from funreason.train.rollout import EnvRollout, turn_success

    task = next(t for t in build_tasks(records) if t.ground_truth)
    replies = iter([pythonic.render_calls([parse_call(c) for c in task.ground_truth]), "Done."])

    def generate(contexts):
        ids = tiny_tokenizer(next(replies), add_special_tokens=False)["input_ids"] + [tiny_tokenizer.eos_token_id]
        return [list(ids) for _ in contexts], None

    rollout = EnvRollout(tiny_tokenizer, OPTIONS, max_tool_steps=3, max_completion_length=1024)
    (episode,) = rollout.run([task], generate)
    assert episode.num_calls == len(task.ground_truth) and episode.num_errors == 0
    assert turn_success(None, [episode]) == [1.0]


def test_grpo_on_toy_environment_data(records, dataset, tiny_model_dir, tmp_path):
    """GRPO on a synth dataset of the custom environment runs its steps (every rollout restores and rewards it)."""
    from funreason.train import grpo

    recipe = {
        "model": str(tiny_model_dir),
        "run_dir": str(tmp_path / "run"),
        "seed": 0,
        "chat": {"tool_format": "pythonic"},
        "grpo": {
            "dataset": str(dataset),
            "max_tool_steps": 2,
            "num_generations": 4,
            "per_device_train_batch_size": 4,
            "max_completion_length": 32,
            "max_steps": 2,
            "temperature": 1.0,
            "report_to": [],
            "save_strategy": "no",
        },
    }
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    summary = grpo.main(["--config", str(path)])
    assert summary["steps"] == 2
    assert summary["tasks"] == sum(len(r["metadata"]["turns"]) for r in records)
    logs = [e for e in summary["log_history"] if "reward" in e]
    assert len(logs) == 2 and all("rewards/turn_success/mean" in e for e in logs)
    assert (tmp_path / "run" / "grpo" / "final" / "config.json").is_file()


# --- evaluation on the toy environment ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy_files(records, tmp_path_factory) -> tuple[Path, Path]:
    """A BFCL-format question file whose involved_classes name the custom class, and its answer file."""
    out = tmp_path_factory.mktemp("toy_eval")
    questions, answers = [], []
    for i, record in enumerate(records):
        meta, entry_id = record["metadata"], f"multi_turn_base_{i}"
        questions.append(
            {
                "id": entry_id,
                "question": user_turns(record["messages"]),
                "initial_config": meta["initial_config"],
                "involved_classes": [TOY],
            }
        )
        answers.append({"id": entry_id, "ground_truth": [t["ground_truth"] for t in meta["turns"]]})
    qf, af = out / "questions.jsonl", out / "answers.jsonl"
    qf.write_text("".join(json.dumps(q) + "\n" for q in questions))
    af.write_text("".join(json.dumps(a) + "\n" for a in answers))
    return qf, af


def test_eval_loads_toy_tasks_with_offered_docs(toy_files):
    from funreason.chat.tools import offered_docs
    from funreason.eval.tasks import load_tasks

    tasks = load_tasks(question_file=toy_files[0], answer_file=toy_files[1])
    (entry, *_) = tasks.entries["base"]
    assert entry["function"] == offered_docs(func_docs([TOY]))
    # The environment's code is part of the data provenance, next to the question and answer files.
    assert set(tasks.provenance["files"]) == {
        str(toy_files[0]),
        str(toy_files[1]),
        inspect.getsourcefile(ToyLibrary),
    }


@pytest.mark.parametrize(("replay", "accuracy"), [(True, 1.0), (False, 0.0)])
def test_eval_runner_and_scorer_on_toy_tasks(toy_files, tiny_tokenizer, tmp_path, replay, accuracy):
    """BFCL's loop and checker on the custom environment: the ground truth scores 100%, saying nothing 0%."""
    from funreason.eval.backends import ScriptedBackend
    from funreason.eval.runner import LockstepRunner
    from funreason.eval.score import score_results
    from funreason.eval.tasks import load_tasks

    tasks = load_tasks(question_file=toy_files[0], answer_file=toy_files[1])
    gt = tasks.ground_truth["base"]

    def script(request) -> str:
        entry_id, turn, step = request.key
        calls = gt[entry_id][turn]
        if replay and step == 0 and calls:
            return pythonic.render_calls([parse_call(c) for c in calls])
        return "Done."

    runner = LockstepRunner(ScriptedBackend(script), tiny_tokenizer, OPTIONS, in_flight=4, progress=False)
    stats = runner.run(tasks.entries, tmp_path / "result" / "toy")
    assert stats["errors"] == 0
    summary = score_results(tmp_path / "result", tmp_path / "score", "pythonic", list(tasks.entries), tasks=tasks)
    header = summary["models"]["toy"]["categories"]["multi_turn_base"]
    assert header["accuracy"] == accuracy and header["total_count"] == len(gt)


def test_eval_stage_on_toy_tasks_with_the_tiny_model(toy_files, tiny_model_dir, tmp_path):
    """The whole eval stage (tasks from the question file, hf backend, scoring, metadata) on the custom env."""
    from funreason.core.recipe import load_recipe
    from funreason.eval.pipeline import evaluate_model

    recipe = {
        "model": str(tiny_model_dir),
        "run_dir": str(tmp_path / "run"),
        "seed": 0,
        "chat": {"tool_format": "pythonic"},
        "eval": {
            "question_file": str(toy_files[0]),
            "answer_file": str(toy_files[1]),
            "limit": 2,
            "backend": "hf",
            "max_new_tokens": 8,
        },
    }
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    meta = evaluate_model(load_recipe(path), str(tiny_model_dir), "base", progress=False)
    assert meta["entries"] == 2 and meta["run"]["errors"] == 0
    header = meta["scores"]["models"]["base"]["categories"]["multi_turn_base"]
    assert header["total_count"] == 2


def test_a_class_that_cannot_be_built_is_not_an_environment(tmp_path, monkeypatch):
    (tmp_path / "broken_env.py").write_text(
        "class NeedsArgs:\n    def __init__(self, x):\n        self.x = x\n\n"
        "    def tool(self, a: int) -> dict:\n        '''A tool.'''\n        return {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownEnvironment, match=r"'broken_env:NeedsArgs' is not an environment: TypeError"):
        resolve_env(["broken_env:NeedsArgs"]).make_instances({})
