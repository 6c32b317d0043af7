"""``--profiler``: every action writes its report into ``RUN/profile/`` and says so; no CUDA noise without a GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.engine.conftest import run_cli, write_tiny_config
from vis4d.common.errors import ConfigError
from vis4d.config.load import load_config
from vis4d.engine.profiling import build_profiler, slowest_actions
from vis4d.engine.trainer import main
from vis4d.model.build import build_model


def test_unknown_profiler_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--profiler: unknown profiler 'fancy'; expected one of simple"):
        build_profiler("fancy", tmp_path)
    assert build_profiler(None, tmp_path) is None


def test_slowest_actions_of_the_simple_profiler(tmp_path: Path) -> None:
    profiler = build_profiler("simple", tmp_path)
    profiler.recorded_durations.update({"fast": [0.1, 0.1], "slow": [2.0], "middle": [0.5, 0.5, 0.5]})
    assert slowest_actions(profiler) == [("slow", 1, 2.0), ("middle", 3, 1.5), ("fast", 2, 0.2)]


def _tiny_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny QDTrack config and a checkpoint of its (untrained) model: test and predict need weights."""
    config_path = write_tiny_config(tmp_path, "qdtrack")
    config = load_config(config_path)
    weights = tmp_path / "tiny.pt"
    torch.save(build_model(config.model, len(config.categories)).state_dict(), weights)
    return config_path, weights


@pytest.mark.slow
def test_test_with_the_advanced_profiler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, weights = _tiny_checkpoint(tmp_path)
    run = ["--config", str(config), "--work_dir", str(tmp_path / "ws"), "--exp_name", "p", "--version", "v1"]
    for _ in range(2):  # a second run replaces the first one's report instead of appending to it
        assert main(["test", *run, "--weights", str(weights), "--profiler", "advanced"]) == 0
    out = capsys.readouterr().out
    report = tmp_path / "ws" / "p" / "v1" / "profile" / "test-report.txt"
    assert report.read_text().count("TEST Profiler Report") == 1 and "Profile stats for: " in report.read_text()
    assert "profile (test): the 12 slowest of" in out and "SingleDeviceStrategy.test_step" in out
    assert out.rstrip().endswith(f"profile report: {report}")
    assert json.loads((tmp_path / "ws" / "p" / "v1" / "test" / "metrics.json").read_text())  # the test still ran


@pytest.mark.slow
def test_predict_with_the_pytorch_profiler_writes_a_trace_without_cuda_errors(tmp_path: Path) -> None:
    config, weights = _tiny_checkpoint(tmp_path)
    run = ["--config", str(config), "--work_dir", str(tmp_path / "ws"), "--exp_name", "p", "--version", "v1"]
    result = run_cli("predict", *run, "--weights", str(weights), "--profiler", "pytorch", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "ws" / "p" / "v1"
    traces = list((run_dir / "profile").glob("predict-report*.pt.trace.json"))
    assert len(traces) == 1 and json.loads(traces[0].read_text())["traceEvents"]
    assert not list(run_dir.glob("tensorboard/**/*.pt.trace.json"))  # not inside the logger's folder
    assert "profile traces (1): " in result.stdout and "chrome://tracing" in result.stdout
    assert f"profile report: {run_dir / 'profile' / 'predict-report.txt'}" in result.stdout
    if not torch.cuda.is_available():
        assert "gpuGetDeviceCount" not in result.stderr and "ERROR:" not in result.stderr, result.stderr[-3000:]
