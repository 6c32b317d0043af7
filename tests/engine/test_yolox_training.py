"""YOLOX's recipe end to end through the CLI: train, test, predict, export, bf16, as Faster R-CNN does.

One tiny run (YOLOX-nano a quarter as wide, 64x96 synthetic frames; 2 epochs, the second without mosaic) is
shared by the tests of this module: its checkpoints carry the EMA, and what reads them uses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.engine.conftest import run_cli, write_tiny_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config, run directory) of a finished two-epoch run."""
    tmp = tmp_path_factory.mktemp("yolox")
    config = write_tiny_config(tmp, "detector", detector="yolox")
    work = tmp / "ws"
    result = run_cli("train", "--config", str(config), "--work_dir", str(work), "--version", "run",
                     "--max_epochs", "2", cwd=tmp)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return config, work / "tiny_detector_yolox" / "run"


def test_checkpoints_hold_the_ema_and_the_trained_weights(trained: tuple[Path, Path]) -> None:
    _, run = trained
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    ema = checkpoint["ema"]
    assert ema["updates"] == checkpoint["global_step"] == 8 and ema["decay"] == 0.9998 and ema["ramp"] == 10
    trained_weights = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    assert ema["state_dict"].keys() == trained_weights.keys()
    key = "detector.head.obj_preds.0.weight"
    assert not torch.equal(ema["state_dict"][key], trained_weights[key])  # an average, not a copy
    # Megvii's parameter groups: decay on convolution weights, none on norms and biases.
    groups = checkpoint["optimizer_states"][0]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [5e-4, 0.0] and all(g["nesterov"] for g in groups)
    # yoloxwarmcos, 4 steps an epoch: warm-up over the first epoch, the minimum over the last (no-aug) epoch.
    assert groups[0]["lr"] == pytest.approx(0.01 * 0.05)


def test_test_predict_and_export_use_the_ema(trained: tuple[Path, Path], tmp_path: Path) -> None:
    config, run = trained
    best = str(run / "checkpoints" / "best.ckpt")
    tested = run_cli("test", "--config", str(config), "--weights", best, "--limit_test_batches", "2", cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert "EMA weights]" in tested.stdout
    metrics = json.loads(next(tmp_path.glob("vis4d-workspace/*/*/test/metrics.json")).read_text())
    assert "AP" in json.dumps(metrics)
    predicted = run_cli("predict", "--config", str(config), "--weights", best, "--limit_predict_batches", "2",
                        cwd=tmp_path)  # fmt: skip
    assert predicted.returncode == 0 and "EMA weights]" in predicted.stdout, predicted.stderr[-3000:]

    from vis4d.engine.export import main as export_main

    for fmt, name in (("onnx", "model.onnx"), ("torchscript", "model.pt")):
        pytest.importorskip("onnx") if fmt == "onnx" else None
        assert export_main(["--config", str(config), "--weights", best, "--format", fmt,
                            "--output", str(tmp_path / name)]) == 0  # fmt: skip
    backend = run_cli("predict", "--config", str(config), "--backend", "torchscript", "--model",
                      str(tmp_path / "model.pt"), "--limit_predict_batches", "2", cwd=tmp_path)  # fmt: skip
    assert backend.returncode == 0, backend.stderr[-3000:]


def test_bf16_mixed_precision_trains(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector", detector="yolox")
    result = run_cli("train", "--config", str(config), "--work_dir", str(tmp_path / "ws"), "--precision", "bf16-mixed",
                     "--max_epochs", "2", "--max_steps", "2", "--limit_val_batches", "0", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "precision bf16-mixed" in result.stdout
    (checkpoint,) = (tmp_path / "ws" / "tiny_detector_yolox").glob("*/checkpoints/last.ckpt")
    state = torch.load(checkpoint, weights_only=True)
    assert state["ema"]["updates"] == 2
    assert all(torch.isfinite(v).all() for v in state["ema"]["state_dict"].values() if v.is_floating_point())


def test_ddp_on_cpu_trains_validates_and_tests_with_the_ema(tmp_path: Path) -> None:
    """Two CPU processes (gloo, forked ranks): mosaic per rank, one EMA (rank 0's batch-norm statistics are
    broadcast, so every rank averages the same weights), validation and test through it."""
    config = write_tiny_config(tmp_path, "detector", detector="yolox")
    ddp = ["--accelerator", "cpu", "--devices", "2", "--strategy", "ddp_fork"]
    common = ["--config", str(config), "--work_dir", str(tmp_path / "ws"), "--exp_name", "ddp", "--version", "v"]
    result = run_cli("train", *common, *ddp, "--max_epochs", "2", "--limit_val_batches", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(tmp_path / "ws" / "ddp" / "v" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == checkpoint["ema"]["updates"] == 4  # 8 frames, 2 ranks x 2 per step
    tested = run_cli("test", *common, *ddp, "--weights", "last", cwd=tmp_path)
    assert tested.returncode == 0 and "EMA weights]" in tested.stdout, tested.stderr[-3000:]
    assert json.loads((tmp_path / "ws" / "ddp" / "v" / "test" / "metrics.json").read_text())["det"]["AP"] >= 0
