"""A run directory belongs to one run, and nothing in it runs code when it is read back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.engine.conftest import write_tiny_config
from vis4d.engine.trainer import main
from vis4d.engine.workspace import resolve_workspace, run_lock


def _args(config: Path, *extra: str) -> list[str]:
    return ["--config", str(config), "--work_dir", str(config.parent / "ws"), "--exp_name", "e", "--version", "v",
            *extra]  # fmt: skip


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    return line


def test_train_into_a_directory_that_holds_a_run_needs_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_tiny_config(tmp_path, "detector")
    run_dir = tmp_path / "ws" / "e" / "v"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "best.ckpt").write_bytes(b"an earlier run's")
    assert main(["train", *_args(config)]) == 2
    assert f"train: {run_dir} already holds a run (checkpoints); continue it with --resume" in _error_line(capsys)
    assert (run_dir / "checkpoints" / "best.ckpt").read_bytes() == b"an earlier run's"


def test_a_second_run_into_a_live_run_directory_stops_naming_its_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_tiny_config(tmp_path, "detector")
    workspace = resolve_workspace("train", str(tmp_path / "ws"), "e", "v", None, False)
    with run_lock(workspace):  # the live run
        assert main(["train", *_args(config)]) == 2
        line = _error_line(capsys)
        assert f"{workspace.run_dir} is in use by a live run (PID {os.getpid()} on " in line
        assert main(["test", *_args(config, "--weights", str(tmp_path / "none.ckpt"))]) == 2  # any action


def test_resume_refuses_a_checkpoint_that_would_run_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_tiny_config(tmp_path, "detector")
    checkpoints = tmp_path / "ws" / "e" / "v" / "checkpoints"
    checkpoints.mkdir(parents=True)
    marker = tmp_path / "payload_ran"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (Path.touch, (marker,))

    torch.save(
        {"epoch": 0, "global_step": 1, "state_dict": {}, "hyper_parameters": Payload()}, checkpoints / "last.ckpt"
    )
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # torch would load anything under this variable
    assert main(["train", *_args(config, "--resume", "--max_epochs", "1")]) == 2
    assert "holds Python objects that would run code when loaded" in _error_line(capsys)
    assert not marker.exists()


def test_metrics_json_is_written_after_the_prediction_files(tmp_path: Path) -> None:
    """Its presence means the test finished: the evaluator is the last callback of ``test``."""
    from vis4d.engine.callbacks import Evaluator, PredictionFileWriter, Visualizer
    from vis4d.engine.cli import build_parser
    from vis4d.engine.datamodule import Vis4DDataModule
    from vis4d.engine.resolve import resolve_run
    from vis4d.engine.trainer import build_callbacks

    config = write_tiny_config(tmp_path, "detector")
    weights = tmp_path / "w.ckpt"
    weights.write_bytes(b"PK\x03\x04")
    args = build_parser().parse_args(["test", *_args(config, "--weights", str(weights), "--visualize")])
    run = resolve_run(args)
    datamodule = Vis4DDataModule(run.config, tmp_path / "cache")
    kinds = [type(c) for c in build_callbacks(run, datamodule)]
    assert kinds.index(Evaluator) == len(kinds) - 1 > kinds.index(Visualizer) > kinds.index(PredictionFileWriter)
