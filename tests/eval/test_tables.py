"""Metric tables: percent with one decimal for ratios, integers for counts, '-' for undefined values."""

from __future__ import annotations

import pytest

from tests.eval.reference import random_detection, random_tracking
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.tables import format_metrics_table
from vis4d.eval.track import evaluate_tracking


def _row(table: str, name: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.split()[:1] == [name])


def test_detection_table_rows_and_formatting() -> None:
    det = {
        "AP": 0.41234, "AP50": 0.7, "AP75": 0.4, "APs": None, "APm": 0.25, "APl": 0.5, "AR1": 0.1, "AR10": 0.3,
        "AR100": 0.456, "per_class": {"car": {"AP": 0.5, "AP50": 0.75, "AP75": None, "APs": None, "APm": None,
                                              "APl": 0.5, "AR1": 0.0, "AR10": 0.5, "AR100": 1.0}},
    }  # fmt: skip
    table = format_metrics_table({"det": det})
    assert table.splitlines()[1].split() == ["class", "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100"]
    assert _row(table, "all") == ["all", "41.2", "70.0", "40.0", "-", "25.0", "50.0", "10.0", "30.0", "45.6"]
    assert _row(table, "car")[:4] == ["car", "50.0", "75.0", "-"]
    assert format_metrics_table(det) == table  # a bare result works too


def test_tracking_table_has_classes_supers_mean_overall_and_integer_counts() -> None:
    gt, pred = random_tracking(0)
    track = evaluate_tracking(gt, pred, super_categories={"road": ["car", "cyclist"]})
    table = format_metrics_table({"track": track})
    header = table.splitlines()[1].split()
    for name in ("car", "pedestrian", "cyclist", "mean", "overall"):
        row = _row(table, name)
        assert len(row) == len(header)
    assert "road (super)" in table
    overall = dict(zip(header, _row(table, "overall"), strict=True))
    assert overall["MOTA"] == f"{100 * track['overall']['MOTA']:.1f}"
    assert overall["FP"] == str(track["overall"]["FP"]) and overall["IDSW"] == str(track["overall"]["IDSW"])


def test_both_tables_and_unknown_input() -> None:
    gt, pred = random_detection(0)
    tgt, tpred = random_tracking(1)
    text = format_metrics_table({"det": evaluate_detection(gt, pred), "track": evaluate_tracking(tgt, tpred)})
    assert "Detection (COCO AP)" in text and "Tracking (CLEAR MOT, IDF1, HOTA)" in text
    with pytest.raises(ValueError, match="expected detection or tracking metrics"):
        format_metrics_table({"loss": 1.0})


def test_titles_state_the_convention_and_which_boxes_ap_is_of() -> None:
    gt, pred = random_detection(0)
    tgt, tpred = random_tracking(1)
    metrics = {"det": evaluate_detection(gt, pred), "track": evaluate_tracking(tgt, tpred)}
    lines = format_metrics_table(metrics).splitlines()
    assert lines[0] == "Detection (COCO AP); ratios in %"
    track_title = next(line for line in lines if line.startswith("Tracking"))
    assert "ratios in %, counts as integers" in track_title and "mean: over classes with ground truth" in track_title
    for det_boxes, said in (("detector", "of the detector's output, before the tracker"),
                            ("tracker", "of the tracker's output (scores >= track_high_thresh)")):  # fmt: skip
        first = format_metrics_table({**metrics, "summary": {"det_boxes": det_boxes}}).splitlines()[0]
        assert first == f"Detection (COCO AP) {said}; ratios in %"
