"""Reliability (issue #19): training resumes by default past torn checkpoints and --fresh deletes nothing; a stage
dir has one writer; recipes are refused before anything is written; nothing-produced synthesis is not "done"; broken
model dirs, non-UTF-8 files and full disks are one line. Kill tests SIGKILL real processes.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_reliability.py
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_sft import write_recipe as write_sft_recipe
from test_sft_data import sft_conversations, write_dataset

from core.errors import RecipeError, UserError
from core.jsonl import JsonlError, iter_jsonl
from core.lock import LockedError, holder, stage_lock
from core.modelfiles import weights_problem
from core.recipe import load_recipe, read_yaml, save_resolved

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}


def funreason(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "funreason", *args], cwd=REPO, env=ENV, capture_output=True, text=True, **kw
    )


def base_recipe(tmp_path: Path, **sections) -> dict:
    return {"model": str(tmp_path / "model"), "run_dir": str(tmp_path / "run"), **sections}


def write(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


# --- recipe validation: refused with one line, before anything is written ------------------------------------------
def test_duplicate_key_is_refused_naming_file_and_line(tmp_path):
    f = write(tmp_path / "r.yaml", "model: m\nrun_dir: r\nsft:\n  max_steps: 3\nsft:\n  max_steps: 4\n")
    with pytest.raises(RecipeError, match=r"r\.yaml at line 5.*duplicate key 'sft' \(first given at line 3\)"):
        read_yaml(f)
    f = write(tmp_path / "n.yaml", "model: m\nrun_dir: r\nsft: {max_steps: 3, learning_rate: 1.0, max_steps: 4}\n")
    with pytest.raises(RecipeError, match=r"line 3.*duplicate key 'max_steps'"):
        read_yaml(f)


def test_alias_bomb_is_refused_at_once(tmp_path):
    """The 600-byte bomb of the issue expanded to 117 MB; refused at its first anchor, in milliseconds."""
    lines = ["model: m", "run_dir: r", 'a0: &a0 ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    f = write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    t = time.perf_counter()
    with pytest.raises(RecipeError, match=r"bomb\.yaml at line 3.*anchors \(&a0\) are not allowed"):
        load_recipe(f)
    assert time.perf_counter() - t < 1.0
    f = write(tmp_path / "alias.yaml", "model: m\nrun_dir: r\nx: 1\nsft: *x\n")
    with pytest.raises(RecipeError, match=r"line 4.*aliases"):
        read_yaml(f)
    ok = write(tmp_path / "ok.yaml", {"model": "m", "run_dir": str(tmp_path / "run")})
    with pytest.raises(RecipeError, match="override.*anchors"):
        load_recipe(ok, ["sft.report_to=[&a x, *a]"])


def test_resolved_recipe_never_holds_aliases(tmp_path):
    recipe = load_recipe(write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={}, sft={}, eval={})))
    path = save_resolved(recipe)
    assert "&id" not in path.read_text() and "*id" not in path.read_text()
    read_yaml(path)  # the loader that refuses aliases reads it back


BAD_VALUES = [
    ("synth", {"rounds": [3, 2]}, "synth.rounds: min 3 is greater than max 2"),
    ("synth", {"trace_length": [0, 4]}, r"synth.trace_length: min must be >= 1"),
    ("synth", {"classes_per_trajectory": [1, 2, 3]}, r"synth.classes_per_trajectory must be \[min, max\]"),
    ("synth", {"num_trajectories": -5}, "synth.num_trajectories must be >= 1, got -5"),
    ("synth", {"k_max": 0}, "synth.k_max must be >= 1, got 0"),
    ("synth", {"miss_func_ratio": 1.5}, r"synth.miss_func_ratio is a probability and must be in \[0, 1\]"),
    ("synth", {"teacher": {"top_p": 2.0}}, r"synth.teacher.top_p .* \[0, 1\]"),
    ("sft", {"per_device_train_batch_size": -3}, "sft.per_device_train_batch_size must be >= 1, got -3"),
    ("sft", {"max_length": 0}, "sft.max_length must be >= 1, got 0"),
    ("sft", {"learning_rate": -1e-5}, "sft.learning_rate must be >= 0"),
    ("sft", {"lora": {"r": 0}}, "lora.r must be >= 1"),
    ("grpo", {"num_generations": 0}, "grpo.num_generations must be >= 1"),
    ("grpo", {"max_tool_steps": 0}, "grpo.max_tool_steps must be >= 1"),
    ("eval", {"batch_size": 0}, "eval.batch_size must be >= 1"),
    ("eval", {"top_p": 1.2}, r"eval.top_p .* \[0, 1\]"),
]


@pytest.mark.parametrize("section,values,message", BAD_VALUES, ids=[f"{s}-{next(iter(v))}" for s, v, _ in BAD_VALUES])
def test_bad_values_are_refused_naming_the_key(tmp_path, section, values, message):
    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, **{section: values}))
    with pytest.raises(RecipeError, match=message):
        load_recipe(f)


def test_bad_value_stops_funreason_run_before_anything_is_written(tmp_path):
    """The issue: an invalid range passed validation, crashed after run.json was written, which blocked the fix."""
    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={"rounds": [4, 2]}))
    from funreason.cli import main

    assert main(["run", "--config", str(f)]) == 2
    assert not (tmp_path / "run").exists()


def test_valid_trl_values_and_shipped_recipes_still_load():
    for path in (REPO / "recipes").glob("*.yaml"):
        load_recipe(path)


# --- one line instead of a traceback ---------------------------------------------------------------------------------
def test_non_utf8_jsonl_names_file_and_line(tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_bytes(b'{"a": 1}\n{"b": "caf\xe9"}\n')
    with pytest.raises(JsonlError, match=r"rows\.jsonl:2: not UTF-8 text"):
        list(iter_jsonl(f))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_disk_is_one_line_exit_2(tmp_path, monkeypatch, capsys, code):
    import funreason.pipeline as pipeline
    from funreason.cli import main

    f = write(tmp_path / "r.yaml", base_recipe(tmp_path))
    target = str(tmp_path / "run" / "recipe.yaml")

    def save_fails(recipe):
        raise OSError(code, os.strerror(code), target)

    monkeypatch.setattr(pipeline, "ensure_model", lambda recipe: None)
    monkeypatch.setattr(pipeline, "save_resolved", save_fails)
    assert main(["run", "--config", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and target in err and "Traceback" not in err


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("broken")
    out = {}
    for name in ("config", "weights", "tokenizer"):
        out[name] = shutil.copytree(tiny_model_dir, root / name)
    (out["config"] / "config.json").write_text('{"model_type": "qwen3", ')
    weights = out["weights"] / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    for f in out["tokenizer"].glob("tokenizer*"):
        f.unlink()
    return out


@pytest.mark.parametrize(
    "broken,message",
    [
        ("config", r".*/config/config.json: not valid JSON .*the model directory is damaged"),
        ("weights", r"cannot load the model in .*/weights \(model.safetensors: truncated \(\d+ of \d+ bytes\)\)"),
        ("tokenizer", r".*/tokenizer has no tokenizer \(none of tokenizer.json"),
    ],
)
def test_broken_model_dir_is_one_line_naming_it(broken_models, broken, message):
    """transformers raises on the first two and silently builds an EMPTY tokenizer for the third."""
    from train.common import load_model_and_tokenizer

    with pytest.raises(UserError, match=message):
        load_model_and_tokenizer(broken_models[broken])


# --- checkpoints: which one is whole ---------------------------------------------------------------------------------
def fake_checkpoint(d: Path, model: Path, state: bool = True) -> Path:
    import torch

    d.mkdir(parents=True)
    shutil.copy(model / "model.safetensors", d / "model.safetensors")
    torch.save({"step": d.name}, d / "optimizer.pt")
    if state:
        (d / "trainer_state.json").write_text(json.dumps({"global_step": int(d.name.split("-")[1])}))
    return d


def test_last_checkpoint_falls_back_past_torn_weights_and_optimizer(tmp_path, tiny_model_dir):
    from train.common import checkpoint_problem, last_checkpoint

    for n in (2, 4, 6, 8):
        fake_checkpoint(tmp_path / f"checkpoint-{n}", tiny_model_dir, state=n != 8)
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-6")
    os.truncate(tmp_path / "checkpoint-6" / "model.safetensors", 1000)
    opt = tmp_path / "checkpoint-4" / "optimizer.pt"
    os.truncate(opt, opt.stat().st_size - 10)
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")
    assert checkpoint_problem(tmp_path / "checkpoint-8") == "no trainer_state.json"
    assert "model.safetensors: truncated" in checkpoint_problem(tmp_path / "checkpoint-6")
    assert "optimizer.pt" in checkpoint_problem(tmp_path / "checkpoint-4")
    assert weights_problem(tiny_model_dir) is None


# --- the lock ------------------------------------------------------------------------------------------------------
HOLD = (
    "import sys, time; sys.path.insert(0, {repo!r})\n"
    "from core.lock import stage_lock\n"
    "with stage_lock(sys.argv[1], 'a test', *sys.argv[2:]):\n"
    "    print('locked', flush=True); time.sleep(120)\n"
)


def hold_in_child(directory: Path, env=None, name: str | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(repo=str(REPO)), str(directory), *([name] if name else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.stderr.read()
    return proc


def test_second_process_gets_one_line_naming_the_holder_and_a_dead_holder_is_taken_over(tmp_path):
    d = tmp_path / "synth"
    child = hold_in_child(d)
    try:
        with pytest.raises(LockedError, match=rf"synth is in use by a test, pid {child.pid} on .* \(.*-c.*sft cannot"):
            with stage_lock(d, "sft"):
                pass
    finally:
        os.kill(child.pid, signal.SIGKILL)  # a dead holder: the kernel drops its flock
        child.wait()
    with stage_lock(d):
        assert holder(d)["pid"] == os.getpid()


def test_lock_is_reentrant_in_the_holding_process_and_its_children(tmp_path):
    d = tmp_path / "sft"
    with stage_lock(d, "outer"):
        with stage_lock(d, "inner"):  # funreason run holding synth/ while synth's entry point asks again
            pass
        child = hold_in_child(d, env=dict(os.environ))  # the training script funreason run launches
        child.kill()
        child.wait()
    assert "FUNREASON_HELD_LOCKS" not in os.environ or str(d) not in os.environ["FUNREASON_HELD_LOCKS"]


@pytest.mark.parametrize("command", ["synth", "eval"])
def test_stage_commands_refuse_a_locked_dir(tmp_path, capsys, command):
    from funreason.cli import main

    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={}, eval={}))
    d = tmp_path / "run" / ("synth" if command == "synth" else "eval/base")
    child = hold_in_child(d)
    try:
        extra = ["--model", str(tmp_path / "model"), "--label", "base"] if command == "eval" else []
        assert main([command, "--config", str(f), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"pid {child.pid} on" in err
    finally:
        child.kill()
        child.wait()


# --- stage bookkeeping ---------------------------------------------------------------------------------------------
def test_all_failed_synthesis_is_not_done_and_transport_is_not_identity(tmp_path, capsys, tiny_model_dir):
    """Every teacher request fails: exit non-zero, no DONE.json; a rerun against another URL is not refused."""
    from fake_openai import FakeOpenAIServer, Fault

    from funreason.cli import main

    def teacher(base_url: str) -> dict:
        return {"kind": "openai", "base_url": base_url, "max_retries": 0, "api_key_env": "NO_SUCH_KEY_VAR"}

    synth = {"environments": ["GorillaFileSystem"], "num_trajectories": 3, "rounds": [1, 1], "trace_length": [1, 1]}
    f = tmp_path / "r.yaml"
    with FakeOpenAIServer(lambda endpoint, request: Fault(status=400)) as server:
        write(
            f,
            {
                **base_recipe(tmp_path, synth={**synth, "teacher": teacher(server.base_url)}),
                "model": str(tiny_model_dir),
            },
        )
        assert main(["run", "--config", str(f), "--stages", "synth"]) == 1
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if "error" in x]  # the rest is the progress bar
    assert line.startswith("funreason run: error: synth accepted 0 of 3 trajectories") and "stats.json" in line
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "synth" / "DONE.json").exists()
    with FakeOpenAIServer(lambda endpoint, request: Fault(status=400)) as server:  # another port: another URL
        write(f, base_recipe(tmp_path, synth={**synth, "teacher": {**teacher(server.base_url), "api_key_env": "K"}}))
        assert main(["synth", "--config", str(f), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "accepted 0 of 3" in err and "different settings" not in err


def test_synth_identity_ignores_transport_only():
    from core.sections.synth import SynthConfig
    from core.sections.teacher import TeacherConfig
    from synth.pipeline import _identity

    def ident(**teacher):
        return _identity(SynthConfig(teacher=TeacherConfig(kind="openai", **teacher)), 0)

    a = ident(base_url="http://a:1/v1", api_key_env="A", timeout_s=5.0, concurrency=2)
    assert a == ident(base_url="http://b:2/v1", api_key_env="B", timeout_s=50.0, concurrency=64)
    assert a != ident(base_url="http://a:1/v1", model="another-teacher")


# --- training progress: kill tests on the tiny model ---------------------------------------------------------------
SFT = {"max_steps": 12, "save_steps": 2, "logging_steps": 1, "per_device_train_batch_size": 2, "save_total_limit": 3}


def sft_cmd(recipe: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "train" / "sft.py"), "--config", str(recipe), *extra]


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert proc.poll() is None, "the process exited before it wrote " + str(path)
        assert time.monotonic() < deadline, f"{path} not written in time"
        time.sleep(0.05)


def checkpoints(out: Path) -> dict[int, bool]:
    return {int(p.name.split("-")[1]): (p / "trainer_state.json").is_file() for p in out.glob("checkpoint-*")}


def test_killed_sft_resumes_by_default_past_a_torn_checkpoint_and_fresh_keeps_the_old_ones(tmp_path, tiny_model_dir):
    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(8, seed=5, tools=False))
    recipe = write_sft_recipe(tmp_path, tiny_model_dir, [data], SFT)
    out = tmp_path / "run" / "sft"
    proc = subprocess.Popen(sft_cmd(recipe), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(out / "checkpoint-4" / "trainer_state.json", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "final").exists(), "the run finished before it could be killed"
    whole = sorted(n for n, ok in checkpoints(out).items() if ok)
    newest, fallback = whole[-1], whole[-2]
    # A torn checkpoint whose trainer_state.json exists: the weights were cut short after the fact.
    weights = out / f"checkpoint-{newest}" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 3)

    # Plain rerun, no flag: continues from the newest WHOLE checkpoint; the torn one is moved aside, not lost.
    done = subprocess.run(sft_cmd(recipe), env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] == str(out / f"checkpoint-{fallback}")
    assert summary["steps"] == 12 and [s for s, _ in summary["loss_curve"]] == list(range(1, 13))
    (torn,) = out.glob(f"torn-*/checkpoint-{newest}")
    assert torn.is_dir()

    # --fresh with a rotation limit of 1: every checkpoint and the final model already there survive, moved aside.
    before = {p.name: (p / "trainer_state.json").read_bytes() for p in out.glob("checkpoint-*")}
    done = subprocess.run(
        sft_cmd(recipe, "--fresh", "save_total_limit=1"), env=ENV, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (moved,) = out.glob("superseded-*")
    assert {p.name: (p / "trainer_state.json").read_bytes() for p in moved.glob("checkpoint-*")} == before
    assert (moved / "final" / "model.safetensors").is_file()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] is None and summary["steps"] == 12
    assert sorted(checkpoints(out)) == [12]  # this run's rotation deleted only this run's checkpoints


def test_killed_funreason_run_resumes_training_and_holds_the_lock_meanwhile(tmp_path, tiny_model_dir):
    """SIGKILL the whole `funreason run` (pipeline, accelerate launcher, training process) mid-SFT; while it ran a
    second train/sft.py on the same dir was refused naming it; the rerun takes the dead run's lock over and resumes."""
    data = write_dataset(tmp_path / "chats.jsonl", sft_conversations(8, seed=6, tools=False))
    recipe = write_sft_recipe(tmp_path, tiny_model_dir, [data], {**SFT, "max_steps": 16})
    out = tmp_path / "run" / "sft"
    run = [sys.executable, "-m", "funreason", "run", "--config", str(recipe), "--stages", "sft"]
    proc = subprocess.Popen(
        run, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for(tmp_path / "run" / ".lock", proc)  # the pipeline holds the run dir from its start
        # A second training process on the same dir, started now: it reaches its lock after its imports (seconds),
        # while the pipeline is launching or training; it must stop with one line naming the pipeline.
        second = subprocess.run(sft_cmd(recipe), env=ENV, capture_output=True, text=True, timeout=300)
        assert proc.poll() is None and not (out / "final").exists(), "the pipeline ended before the check"
        assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
        assert f"is in use by funreason run's sft stage, pid {proc.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        wait_for(out / "checkpoint-2" / "trainer_state.json", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if (out / "final").exists():
        pytest.skip("the run finished before it could be killed (machine too fast for this test's timing)")
    assert not (out / "DONE.json").exists()
    done = subprocess.run(run, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "DONE.json").read_text())
    resumed = json.loads((out / "train_summary.json").read_text())["resumed_from"]
    assert resumed is not None and int(resumed.rsplit("-", 1)[1]) >= 2
    assert summary["steps"] == 16


def test_launch_command_resumes_unless_forced():
    from train.launch import launch_command

    assert "--fresh" not in launch_command("sft.py", "r.yaml", None, gpu=False)
    assert launch_command("sft.py", "r.yaml", None, gpu=False, fresh=True)[-1] == "--fresh"


def test_synth_shards_lock_one_shard_each(tmp_path, capsys):
    """Shards of one run share a dir by design; two copies of the same shard do not."""
    from funreason.cli import main

    f = write(tmp_path / "r.yaml", base_recipe(tmp_path, synth={}))
    d = tmp_path / "run" / "synth"
    child = hold_in_child(d, name=".lock-shard-0of2")
    try:
        assert main(["synth", "--config", str(f), "--shard", "0/2"]) == 2
        assert f"pid {child.pid} on" in capsys.readouterr().err
        with stage_lock(d, name=".lock-shard-1of2"), stage_lock(d):
            pass
    finally:
        child.kill()
        child.wait()
