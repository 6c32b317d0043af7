from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine.callbacks.conftest import ground_truth, outputs_of
from vis4d.engine.callbacks.evaluator import Evaluator, flatten_metrics
from vis4d.eval.conventions import TrackingConventions


def test_perfect_tracker_scores_one_and_metrics_json_is_written(tmp_path: Path, fake_trainer: Any) -> None:
    gt = ground_truth()
    evaluator = Evaluator([("tiny", gt)], output_dir=tmp_path)
    evaluator.on_test_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    outputs = outputs_of(gt)
    evaluator.consume(outputs[:3], 0)
    evaluator.consume(outputs[3:], 0)
    logged: dict[str, float] = {}
    module = type("M", (), {"log": lambda self, key, value, **kw: logged.__setitem__(key, value)})()
    evaluator.on_test_epoch_end(fake_trainer, module)  # type: ignore[arg-type]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["det"]["AP50"] == pytest.approx(1.0)
    assert metrics["track"]["mean"]["MOTA"] == 1.0 and metrics["track"]["mean"]["IDSW"] == 0
    assert logged["test/MOTA"] == 1.0 and logged["test/AP50"] == pytest.approx(1.0)


def test_detector_outputs_give_detection_metrics_only(fake_trainer: Any) -> None:
    gt = ground_truth()
    evaluator = Evaluator([("tiny", gt)])
    evaluator.on_validation_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(outputs_of(gt, with_tracks=False), 0)
    results = evaluator.compute()
    assert set(results["tiny"]) == {"det"}


def test_conventions_reach_the_tracking_evaluation(fake_trainer: Any) -> None:
    gt = ground_truth()
    groups = {"everything": ["car", "pedestrian"]}
    evaluator = Evaluator([("tiny", gt)], conventions=[TrackingConventions("motchallenge", groups)])
    evaluator.on_validation_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(outputs_of(gt)[:4], 0)  # the second video's last two frames are missed
    track = evaluator.compute()["tiny"]["track"]
    assert set(track["super_categories"]) == {"everything"}
    assert track["super_categories"]["everything"]["FN"] == 4


def test_flatten_metrics_keeps_scalars_of_det_and_the_track_mean() -> None:
    flat = flatten_metrics({"det": {"AP": 0.5, "per_class": {}}, "track": {"mean": {"MOTA": 0.25, "IDSW": 3}}})
    assert flat == {"AP": 0.5, "MOTA": 0.25, "IDSW": 3.0}
