"""The headline numbers: picked from the nested metrics under names that say what they are."""

from __future__ import annotations

import pytest

from tests.eval.reference import random_detection, random_tracking
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.summary import format_summary_line, summarize_metrics
from vis4d.eval.track import evaluate_tracking


def test_summary_of_detection_and_tracking() -> None:
    gt, pred = random_detection(0)
    tgt, tpred = random_tracking(1)
    det, track = evaluate_detection(gt, pred), evaluate_tracking(tgt, tpred)
    summary = summarize_metrics({"det": det, "track": track}, "detector")
    assert summary["det_boxes"] == "detector" and summary["AP"] == det["AP"] and summary["AP75"] == det["AP75"]
    assert summary["mMOTA"] == track["mean"]["MOTA"] and summary["mHOTA"] == track["mean"]["HOTA"]
    assert summary["MOTA"] == track["overall"]["MOTA"] and summary["IDF1"] == track["overall"]["IDF1"]
    assert summary["mMOTA"] != pytest.approx(summary["MOTA"])  # several classes: the mean is not the pooled value
    assert summary["IDSW"] == track["overall"]["IDSW"] and isinstance(summary["IDSW"], int)
    assert summarize_metrics({"det": det}) == {"det_boxes": "predictions", "AP": det["AP"], "AP50": det["AP50"],
                                               "AP75": det["AP75"]}  # fmt: skip


def test_summary_line_is_in_percent_with_its_conventions() -> None:
    line = format_summary_line({"det_boxes": "tracker", "AP": 0.4123, "AP50": None, "AP75": 0.3, "mMOTA": 0.5,
                                "mIDF1": 0.25, "mHOTA": 0.125, "MOTA": 0.6, "IDSW": 7})  # fmt: skip
    assert line == (
        "AP 41.2  AP50 -  AP75 30.0  mMOTA 50.0  mIDF1 25.0  mHOTA 12.5  IDSW 7  (ratios in %; AP of the tracker's "
        "output (scores >= track_high_thresh); mMOTA/mIDF1/mHOTA: mean over classes)"
    )
