from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.engine.callbacks.conftest import ground_truth, outputs_of
from vis4d.common.structures import FrameOutput
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
    assert set(results["tiny"]) == {"det", "summary"}
    assert results["tiny"]["summary"]["det_boxes"] == "predictions" and "MOTA" not in results["tiny"]["summary"]


def test_conventions_reach_the_tracking_evaluation(fake_trainer: Any) -> None:
    gt = ground_truth()
    groups = {"everything": ["car", "pedestrian"]}
    evaluator = Evaluator([("tiny", gt)], conventions=[TrackingConventions("motchallenge", groups)])
    evaluator.on_validation_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(outputs_of(gt)[:4], 0)  # the second video's last two frames are missed
    track = evaluator.compute()["tiny"]["track"]
    assert set(track["super_categories"]) == {"everything"}
    assert track["super_categories"]["everything"]["FN"] == 4


def test_launch_metrics_reach_the_evaluation_and_the_logs(fake_trainer: Any) -> None:
    gt = ground_truth()
    evaluator = Evaluator([("tiny", gt)], metrics=["teta"])  # launch.metrics = ["teta"]
    evaluator.on_validation_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(outputs_of(gt), 0)
    results = evaluator.compute()["tiny"]
    assert results["track"]["mean"]["TETA"] == pytest.approx(1.0) and "MOTA" not in results["track"]["mean"]
    assert results["summary"]["mTETA"] == pytest.approx(1.0)
    assert flatten_metrics(results)["TETA"] == pytest.approx(1.0)  # val/TETA: a launch.best_metric choice


def test_flatten_metrics_keeps_scalars_of_det_and_the_track_mean() -> None:
    flat = flatten_metrics({"det": {"AP": 0.5, "per_class": {}}, "track": {"mean": {"MOTA": 0.25, "IDSW": 3}}})
    assert flat == {"AP": 0.5, "MOTA": 0.25, "IDSW": 3.0}


def tracker_outputs(with_detections: bool) -> list[FrameOutput]:
    """A tracker that outputs only the cars: its threshold dropped the pedestrians, which the detector found.

    The detector's own detections hold every box, the pedestrians at score 0.3 (below an track_high_thresh).
    """
    gt = ground_truth()
    outputs = []
    for output in outputs_of(gt):
        cars = output.class_ids == 0
        detector = dataclasses.replace(output, scores=np.where(cars, 0.9, 0.3).astype(np.float32), track_ids=None)
        tracked = FrameOutput(output.meta, output.boxes[cars], output.scores[cars], output.class_ids[cars],
                              None if output.track_ids is None else output.track_ids[cars])  # fmt: skip
        outputs.append(dataclasses.replace(tracked, detections=detector if with_detections else None))
    return outputs


def test_detection_ap_of_a_tracker_is_its_detectors(tmp_path: Path, fake_trainer: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    evaluator = Evaluator([("tiny", ground_truth())], output_dir=tmp_path)
    evaluator.on_test_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(tracker_outputs(with_detections=True), 0)
    module = type("M", (), {"log": lambda self, key, value, **kw: None})()
    evaluator.on_test_epoch_end(fake_trainer, module)  # type: ignore[arg-type]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # AP on the detector's detections: every box found. On the tracked boxes it would be capped at the cars.
    assert metrics["det"]["AP50"] == pytest.approx(1.0)
    assert metrics["det"]["per_class"]["pedestrian"]["AP50"] == pytest.approx(1.0)
    # Tracking metrics stay on the tracker's output: the pedestrians are missed.
    assert metrics["track"]["per_class"]["pedestrian"]["FN"] == 6 and metrics["track"]["per_class"]["car"]["MOTA"] == 1
    summary = metrics["summary"]
    assert summary["det_boxes"] == "detector" and summary["AP50"] == pytest.approx(1.0)
    assert summary["mMOTA"] == pytest.approx(0.5) and summary["MOTA"] == pytest.approx(0.5)
    assert summary["IDSW"] == 0 and isinstance(summary["IDSW"], int)
    assert set(summary) == {
        "det_boxes",
        "AP",
        "AP50",
        "AP75",
        "mMOTA",
        "mIDF1",
        "mHOTA",
        "MOTA",
        "IDF1",
        "HOTA",
        "IDSW",
    }
    out = capsys.readouterr().out
    assert "Detection (COCO AP) of the detector's output, before the tracker; ratios in %" in out
    assert "summary: AP 100.0  AP50 100.0  AP75 100.0  mMOTA 50.0" in out


def test_without_the_detectors_detections_ap_is_labelled_as_the_trackers(fake_trainer: Any) -> None:
    evaluator = Evaluator([("tiny", ground_truth())])
    evaluator.on_validation_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(tracker_outputs(with_detections=False), 0)
    metrics = evaluator.compute()["tiny"]
    assert metrics["summary"]["det_boxes"] == "tracker"
    assert metrics["det"]["per_class"]["pedestrian"]["AP50"] == 0.0  # capped by the tracker's threshold


def test_validation_line_is_in_percent_and_says_what_it_shows(fake_trainer: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    evaluator = Evaluator([("tiny", ground_truth())])
    evaluator.on_validation_epoch_start(fake_trainer, None)  # type: ignore[arg-type]
    evaluator.consume(tracker_outputs(with_detections=True), 0)
    logged: dict[str, float] = {}
    module = type("M", (), {"log": lambda self, key, value, **kw: logged.__setitem__(key, value)})()
    evaluator.on_validation_epoch_end(fake_trainer, module)  # type: ignore[arg-type]
    line = capsys.readouterr().out.strip()
    assert line == (
        "[val epoch 0 step 0] AP 100.0  AP50 100.0  AP75 100.0  mMOTA 50.0  mIDF1 50.0  mHOTA 50.0  IDSW 0  "
        "(ratios in %; AP of the detector's output, before the tracker; mMOTA/mIDF1/mHOTA: mean over classes)"
    )
    assert logged["val/MOTA"] == pytest.approx(0.5) and logged["val/AP50"] == pytest.approx(1.0)  # logs: fractions
