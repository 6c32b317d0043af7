"""Resume is exact: ``kill -9`` at a random step, ``train --resume``, and every tensor equals the uninterrupted run's.

Both runs use the same seed and write ``last.ckpt`` every step
(``--checkpoint_every_n_steps 1``). The comparison covers the model's weights
and BatchNorm statistics (the state dict), the optimizer's state, the
learning-rate scheduler and the step count, bitwise (CPU, one thread); for YOLOX's recipe also the EMA of
the weights, across the switch to the last epochs (no mosaic, L1 loss) and with multi-scale batches.
"""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import fork_server
from tests.engine.conftest import write_tiny_config

STEPS_PER_EPOCH = 4  # the tiny config: 8 training frames, batch size 2


def _command(config: Path, version: str, *extra: str) -> list[str]:
    ws = config.parent / "ws"
    run = ["--work_dir", str(ws), "--exp_name", "e", "--version", version, "--seed", "0"]
    every_step = ["--checkpoint_every_n_steps", "1"]
    return ["train", "--config", str(config), *run, *every_step, *extra]


ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _run(command: list[str], cwd: Path) -> None:
    result = fork_server().run("trainer", command, cwd, ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def _step(path: Path) -> int:
    """The step of a checkpoint being rewritten by a live run (-1 while it is absent)."""
    try:
        return int(torch.load(path, weights_only=True)["global_step"])
    except (FileNotFoundError, RuntimeError, EOFError):
        return -1


def _kill_at(command: list[str], cwd: Path, last: Path, step: int) -> int:
    """Start a training run and ``kill -9`` it (and its workers) once ``last.ckpt`` holds ``step``; its step."""
    process = fork_server().start("trainer", command, cwd, ENV)
    try:
        while process.poll() is None and _step(last) < step:
            time.sleep(0.02)
        process.kill()  # a no-op when the run has ended already (the caller sees last.ckpt at its last step)
    finally:
        process.wait(120)
    return _step(last)


def _assert_same_training_state(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    assert ours["global_step"] == theirs["global_step"] and ours["epoch"] == theirs["epoch"], where
    assert ours["state_dict"].keys() == theirs["state_dict"].keys()
    for key, tensor in theirs["state_dict"].items():  # weights and BatchNorm running statistics
        assert torch.equal(ours["state_dict"][key], tensor), f"{where}: {key}"
    for index, state in theirs["optimizer_states"][0]["state"].items():
        for name, value in state.items():
            assert torch.equal(
                torch.as_tensor(ours["optimizer_states"][0]["state"][index][name]), torch.as_tensor(value)
            )
    assert ours["lr_schedulers"] == theirs["lr_schedulers"], where
    assert ("ema" in ours) == ("ema" in theirs), where
    if "ema" in theirs:
        assert ours["ema"]["updates"] == theirs["ema"]["updates"], where
        for key, tensor in theirs["ema"]["state_dict"].items():
            assert torch.equal(ours["ema"]["state_dict"][key], tensor), f"{where}: EMA {key}"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "total_steps"),
    [
        (["--max_epochs", "3"], 3 * STEPS_PER_EPOCH),
        # Step-limited, mid-epoch end, loader workers: no extra batch, same epoch boundaries.
        (["--max_epochs", "-1", "--max_steps", "10", "--cfg-options", "train_handler.num_workers=2"], 10),
    ],
)
def test_kill_9_and_resume_equals_the_uninterrupted_run(tmp_path: Path, options: list[str], total_steps: int) -> None:
    config = write_tiny_config(tmp_path, "qdtrack")
    _kill_and_resume(config, tmp_path, options, total_steps)
    _resume_from_an_epoch_end(config, tmp_path, options)


def _resume_from_an_epoch_end(config: Path, tmp_path: Path, options: list[str]) -> None:
    """A kill between the end of an epoch and the next step leaves ``last.ckpt`` = the epoch's checkpoint (written
    after validation, before ``best.ckpt``): resumed from the uninterrupted run's ``epoch=0.ckpt``, every later epoch
    sees the same frame order (Lightning counts a step-limited run's replayed epoch end twice)."""
    reference = tmp_path / "ws" / "e" / "reference"
    run = tmp_path / "ws" / "e" / "epoch_end"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(reference / "config.yaml", run / "config.yaml")
    shutil.copy(reference / "checkpoints" / "epoch=0.ckpt", run / "checkpoints" / "last.ckpt")
    _run(_command(config, "epoch_end", *options, "--resume"), tmp_path)
    _assert_same_training_state(torch.load(run / "checkpoints" / "last.ckpt", weights_only=True),
                                torch.load(reference / "checkpoints" / "last.ckpt", weights_only=True),
                                "resumed from epoch=0.ckpt")  # fmt: skip


@pytest.mark.slow
def test_yolox_recipe_resumes_exactly(tmp_path: Path) -> None:
    """EMA, mosaic and its last plain epoch, L1 loss, multi-scale sizes and yoloxwarmcos continue where they were."""
    config = write_tiny_config(tmp_path, "detector", detector="yolox")
    _kill_and_resume(config, tmp_path, ["--max_epochs", "2", "--limit_val_batches", "0"], 2 * STEPS_PER_EPOCH)


def _kill_and_resume(config: Path, tmp_path: Path, options: list[str], total_steps: int) -> None:
    _run(_command(config, "reference", *options), tmp_path)
    reference = torch.load(tmp_path / "ws" / "e" / "reference" / "checkpoints" / "last.ckpt", weights_only=True)
    assert reference["global_step"] == total_steps

    # Any step; printed by the assertion on failure. A loaded machine may let a tiny run reach its end between the
    # last look at last.ckpt and the kill: then it is killed again, in a fresh run directory, at another step.
    for attempt in range(3):
        kill_step = random.Random().randrange(1, total_steps - 1)
        version = f"killed{attempt}"
        last = tmp_path / "ws" / "e" / version / "checkpoints" / "last.ckpt"
        killed_at = _kill_at(_command(config, version, *options), tmp_path, last, kill_step)
        if killed_at < total_steps:
            break
    assert killed_at < total_steps, "the run finished before it was killed, three times"
    _run(_command(config, version, *options, "--resume"), tmp_path)
    resumed = torch.load(last, weights_only=True)
    _assert_same_training_state(resumed, reference, f"killed at step {killed_at} (aimed at {kill_step})")
