"""GRPO with environment rollouts on the tiny model (CPU): rollouts execute real BFCL calls, rewards are BFCL's.

The policy is first taught by a short SFT (plain TRL SFTTrainer on examples rendered by chat.render) to answer
"Create a folder named X." with `[mkdir(dir_name='X')]`, since a random model never calls tools.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
NAMES = ["reports", "docs", "data", "logs"]
INIT = {"GorillaFileSystem": {"root": {"alex": {"type": "directory", "contents": {}}}}}


@pytest.fixture(scope="module", autouse=True)
def bfcl_root(tmp_path_factory):
    os.environ.setdefault("BFCL_PROJECT_ROOT", str(tmp_path_factory.mktemp("bfcl_root")))


def mkdir_docs():
    from funreason.envs import bfcl

    return [d for d in bfcl.func_docs(["GorillaFileSystem"]) if d["name"] in ("mkdir", "ls")]


def short_docs():
    """Only mkdir, with a one-line description: short prompts keep the warm-start SFT cheap on 2 CPU cores."""
    (doc,) = [d for d in mkdir_docs() if d["name"] == "mkdir"]
    return [{**doc, "description": "Create a directory."}]


def mkdir_record(name: str) -> dict:
    """A one-turn synth record: make a folder, then say so."""
    call = {"type": "function", "function": {"name": "mkdir", "arguments": {"dir_name": name}}}
    return {
        "messages": [
            {"role": "user", "content": f"Create a folder named {name}."},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "name": f"mkdir(dir_name='{name}')", "content": "None"},
            {"role": "assistant", "content": "Done."},
        ],
        "tools": short_docs(),
        "metadata": {
            "involved_classes": ["GorillaFileSystem"],
            "initial_config": INIT,
            "long_context": False,
            "turns": [{"ground_truth": [f"mkdir(dir_name='{name}')"]}],
        },
    }


def options():
    from funreason.core.sections.chat import ChatOptions

    return ChatOptions(tool_format="pythonic")


@pytest.fixture(scope="module")
def synth_dataset(tmp_path_factory) -> Path:
    """A synth dataset on disk, in the records' JSON-text form (Arrow cannot hold the mixed nested values)."""
    from datasets import Dataset

    path = tmp_path_factory.mktemp("synth") / "dataset"
    rows = [mkdir_record(n) for n in NAMES]
    Dataset.from_list([{k: json.dumps(v) for k, v in r.items()} for r in rows]).save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def warm_model(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model after a short SFT on the mkdir conversations (it then calls tools, not always right)."""
    from datasets import Dataset
    from funreason.chat.render import render_example
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = {"input_ids": [], "assistant_masks": []}
    for name in NAMES:
        messages, tools = mkdir_record(name)["messages"], short_docs()
        for k in (2, 4):  # each assistant message, trained on its own prefix
            ex = render_example(tok, messages[:k], tools, options(), train="last")
            rows["input_ids"].append(ex.ids)
            rows["assistant_masks"].append(ex.mask)
    out = tmp_path_factory.mktemp("warm")
    config = SFTConfig(
        output_dir=str(out / "sft"),
        max_steps=25,  # short on purpose: the model then calls tools, but not always right (rewards vary)
        per_device_train_batch_size=8,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
        logging_steps=1000,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        seed=0,
    )
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_dict(rows), processing_class=tok)
    trainer.train()
    trainer.save_model(str(out / "model"))
    tok.save_pretrained(out / "model")
    return out / "model"


def write_recipe(path: Path, model: Path, run_dir: Path, dataset: Path, **grpo) -> Path:
    section = {
        "dataset": str(dataset),
        "max_tool_steps": 3,
        "num_generations": 4,
        "per_device_train_batch_size": 4,
        "max_completion_length": 48,
        "max_steps": 3,
        "temperature": 1.0,
        "learning_rate": 1e-4,
        "report_to": [],
        "save_strategy": "no",
        **grpo,
    }
    recipe = {"model": str(model), "run_dir": str(run_dir), "seed": 0, "chat": {"tool_format": "pythonic"}}
    recipe["grpo"] = section
    path.write_text(yaml.safe_dump(recipe))
    return path


# --- scripted rollouts: the reward is BFCL's verdict ------------------------------------------------------------
def scripted(tokenizer, replies: list[str]):
    """A `generate` that answers every active episode with the next scripted reply."""
    it = iter(replies)

    def generate(contexts):
        ids = tokenizer(next(it), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        return [list(ids) for _ in contexts], None

    return generate


@pytest.mark.parametrize(
    ("replies", "turn", "fmt"),
    [
        (["[mkdir(dir_name='docs')]", "Done."], 1.0, 1.0),  # correct
        (["[mkdir(dir_name='doc')]", "Done."], 0.0, 1.0),  # wrong state
        (["I cannot do that."], 0.0, 0.0),  # no call where one was needed: no format reward either (issue #26)
        (["[mkdir(dir_name='docs'", "Done."], 0.0, 0.0),  # malformed call: the turn ends undecoded
        (["[mkdir(dir_name='docs')]", "[ls()]", "[ls()]"], 1.0, 0.0),  # right state, but cut at the step cap
    ],
)
def test_scripted_rollout_rewards(tiny_tokenizer, replies, turn, fmt):
    from funreason.train.rl_tasks import tasks_from_record
    from funreason.train.rollout import EnvRollout, format, turn_success

    task = tasks_from_record(mkdir_record("docs"))[0]
    rollout = EnvRollout(tiny_tokenizer, options(), max_tool_steps=3, max_completion_length=512)
    episodes = rollout.run([task], scripted(tiny_tokenizer, replies))
    assert turn_success(None, episodes) == [turn]
    assert format(None, episodes) == [fmt]


def test_rollout_masks_tool_results_and_matches_eval_context(tiny_tokenizer):
    """Generated tokens train (env_mask 1); tool results do not; the spliced context equals eval's re-rendering."""
    from funreason.chat.render import render_prompt
    from funreason.train.rl_tasks import tasks_from_record
    from funreason.train.rollout import EnvRollout

    task = tasks_from_record(mkdir_record("docs"))[0]
    rollout = EnvRollout(tiny_tokenizer, options(), max_tool_steps=5, max_completion_length=512)
    replies = ["[mkdir(dir_name='docs')]", "[ls()]", "Done."]
    seen = []

    def generate(contexts):
        seen.append(list(contexts[0]))
        return scripted_one(replies[len(seen) - 1])

    def scripted_one(text):
        return [tiny_tokenizer(text, add_special_tokens=False)["input_ids"] + [tiny_tokenizer.eos_token_id]], None

    (ep,) = rollout.run([task], generate)
    assert ep.steps == 3 and ep.num_calls == 2 and ep.results[-1] == '{"current_directory_content": ["docs"]}'
    generated = [i for i, m in zip(ep.completion_ids, ep.env_mask) if m]
    assert tiny_tokenizer.decode(generated, skip_special_tokens=True) == "".join(replies)
    tool_text = tiny_tokenizer.decode([i for i, m in zip(ep.completion_ids, ep.env_mask) if not m])
    assert '"current_directory_content": ["docs"]' in tool_text and "mkdir" not in tool_text
    # Every step's generation context is what eval's runner would render for the history so far.
    for k, context in enumerate(seen):
        history = ep.messages[: len(task.messages) + 2 * k]
        assert context == render_prompt(tiny_tokenizer, history, task.tools, options()).ids


# --- real GRPO on the warm-started tiny model -------------------------------------------------------------------
def test_grpo_executes_tools_and_rewards_vary(warm_model, synth_dataset, tmp_path):
    from funreason.train import grpo

    recipe = write_recipe(tmp_path / "r.yaml", warm_model, tmp_path / "run", synth_dataset)
    summary = grpo.main(["--config", str(recipe)])
    assert summary["steps"] == 3
    logs = [e for e in summary["log_history"] if "reward" in e]
    assert len(logs) == 3
    # Tool calls were parsed and executed in the BFCL backend during the rollouts.
    assert max(e["rollout/calls_mean"] for e in logs) > 0
    # In at least one step some group had different rewards (a zero-std group carries no gradient).
    assert min(e["frac_reward_zero_std"] for e in logs) < 1.0
    assert all("rewards/turn_success/mean" in e and "rewards/format/mean" in e for e in logs)
    assert (tmp_path / "run" / "grpo" / "final" / "config.json").is_file()


def test_grpo_logs_diagnostics_with_partial_credit_and_dynamic_sampling(warm_model, synth_dataset, tmp_path):
    """A short run with the learning check's switches: every logged step carries the diagnostics a user reads
    (zero-variance share included), dynamic sampling is counted, and held-out success is logged every step."""
    from funreason.train import grpo

    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(json.dumps(mkdir_record(n)) + "\n" for n in ["notes", "music"]))
    recipe = write_recipe(
        tmp_path / "r.yaml",
        warm_model,
        tmp_path / "run",
        synth_dataset,
        max_steps=2,
        turn_reward="partial",
        dynamic_sampling="resample",
        resample_tries=1,
        heldout_every=1,
        heldout_dataset=str(heldout),
        heldout_tasks=2,
        beta=0.01,
    )
    summary = grpo.main(["--config", str(recipe)])
    rows = summary["diagnostics"]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        for key in ("reward", "reward_std", "zero_variance_share", "clipped_share", "completion_length", "entropy"):
            assert key in row, key
        assert 0.0 <= row["zero_variance_share"] <= 1.0 and "kl" in row and "flat_groups_skipped" in row
    logs = [e for e in summary["log_history"] if "reward" in e]
    assert all("dynamic_sampling/flat_group_share" in e and "rewards/partial_credit/mean" in e for e in logs)
    # Partial credit is the counted turn term; strict success is still logged beside it.
    assert all("rewards/turn_success/mean" in e for e in logs)
    assert [step for step, _ in summary["heldout_curve"]] == [0, 1, 2]
    assert all(0.0 <= value <= 1.0 for _, value in summary["heldout_curve"])


def test_killed_run_resumes(warm_model, synth_dataset, tmp_path):
    """Kill train/grpo.py after its second checkpoint; --resume finishes the run from there (EGPO on)."""
    run = tmp_path / "run"
    recipe = write_recipe(
        tmp_path / "r.yaml", warm_model, run, synth_dataset, max_steps=8, save_strategy="steps", save_steps=1
    )
    cmd = [sys.executable, str(REPO / "train" / "grpo.py"), "--config", str(recipe), "egpo=true", "egpo_scope=all"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not (run / "grpo" / "checkpoint-2" / "trainer_state.json").is_file():
            assert proc.poll() is None, "train/grpo.py exited before its second checkpoint"
            assert time.monotonic() < deadline, "no second checkpoint in time"
            time.sleep(0.2)
        # trainer_state.json is the last file of a checkpoint, so checkpoint-2 is whole; kill at once, while six
        # steps remain (a later checkpoint may be torn: resume must skip it).
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (run / "grpo" / "final").exists()
    done = subprocess.run([*cmd, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run / "grpo" / "train_summary.json").read_text())
    assert summary["resumed_from"] is not None and int(summary["resumed_from"].rsplit("-", 1)[1]) >= 2
    assert summary["steps"] == 8
    logged = [e for e in summary["log_history"] if "reward" in e]
    assert [e["step"] for e in logged] == list(range(1, 9))  # checkpointed steps kept, none redone or skipped
    assert all("egpo/bonus_mean" in e for e in logged)
    assert (run / "grpo" / "final" / "config.json").is_file()
