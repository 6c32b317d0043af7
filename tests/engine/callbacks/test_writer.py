from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine.callbacks.conftest import CATEGORIES, ground_truth, outputs_of
from vis4d.engine.callbacks.writer import PredictionFileWriter


def test_writes_every_format_while_inference_runs(tmp_path: Path, fake_trainer: Any) -> None:
    gt = ground_truth()
    writer = PredictionFileWriter(tmp_path, ["tiny"], CATEGORIES, ["scalabel", "motchallenge"])
    writer.on_test_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    for output in outputs_of(gt):
        writer.consume([output], 0)
    writer.on_test_epoch_end(fake_trainer, None)  # type: ignore[arg-type]
    predictions = tmp_path / "predictions"
    assert sorted(str(p.relative_to(predictions)) for p in writer.written) == [
        "motchallenge/a.txt", "motchallenge/b.txt", "tiny.json",
    ]  # fmt: skip
    frames = json.loads((predictions / "tiny.json").read_text())
    assert len(frames) == gt.num_frames and sum(len(f["labels"]) for f in frames) == gt.num_boxes
    assert len((predictions / "motchallenge" / "a.txt").read_text().splitlines()) == 6


def test_an_interrupted_run_leaves_no_partial_file(tmp_path: Path, fake_trainer: Any) -> None:
    writer = PredictionFileWriter(tmp_path, ["tiny"], CATEGORIES, ["scalabel", "motchallenge"])
    writer.on_predict_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    outputs = outputs_of(ground_truth())
    for output in outputs[:4]:  # video a finished, video b open
        writer.consume([output], 0)
    writer.on_exception(fake_trainer, None, KeyboardInterrupt())  # type: ignore[arg-type]
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["predictions/motchallenge/a.txt"]


def test_unknown_format_is_a_one_line_config_error(tmp_path: Path, fake_trainer: Any) -> None:
    from vis4d.common.errors import ConfigError

    writer = PredictionFileWriter(tmp_path, ["tiny"], CATEGORIES, ["kitti"])
    with pytest.raises(ConfigError, match="launch.output_formats: unknown format 'kitti'"):
        writer.on_test_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
