"""SIGTERM and Ctrl-C during training: the step finishes, ``last.ckpt`` is saved, one line, and resume continues."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import fork_server
from tests.engine.conftest import run_cli, write_tiny_config
from tests.fork_server import Child


def _start(config: Path) -> Child:
    """A long training run with data loader workers, in its own process group (as a terminal's foreground job)."""
    command = ["train", "--config", str(config)]
    command += ["--work_dir", str(config.parent / "ws"), "--exp_name", "e", "--version", "v", "--max_epochs", "100"]
    command += ["--cfg-options", "train_handler.num_workers=2"]
    return fork_server().start("trainer", command, config.parent, {"PYTHONWARNINGS": "ignore"})


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_a_signal_saves_last_ckpt_at_a_step_and_stops_with_one_line(
    tmp_path: Path, signum: signal.Signals, whole_group: bool
) -> None:
    config = write_tiny_config(tmp_path, "qdtrack")
    process = _start(config)
    last = tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline:  # past the first epoch: workers are running
        time.sleep(0.1)
    time.sleep(0.5)
    if whole_group:  # Ctrl-C reaches the data loader workers too
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and "DataLoader worker" not in err, err
    final = [line for line in err.splitlines() if line.strip()][-1]
    step = torch.load(last, weights_only=True)["global_step"]
    assert final == f"{signum.name}: stopped at step {step}, saved {last}; continue with --resume"
    resumed = run_cli("train", "--config", str(config), "--work_dir", str(tmp_path / "ws"), "--exp_name", "e",
                      "--version", "v", "--resume", "--max_epochs", str(step // 4 + 2), cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert torch.load(last, weights_only=True)["global_step"] == (step // 4 + 2) * 4
