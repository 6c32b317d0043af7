"""COCOeval.accumulate on flat arrays; the summary's shortcut (precision at 100 detections only) changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from tests.eval.reference import random_detection
from vis4d.eval.accumulate import precision_at_recalls
from vis4d.eval.detect import coco_precision_recall, summarize, xyxy_to_xywh


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_precisions_only_keep_recall_and_ap(seed: int) -> None:
    gt, pred = random_detection(seed, num_images=60)
    arrays = {
        full: coco_precision_recall(
            len(gt.categories),
            gt.box_frame_ids(),
            gt.class_ids,
            xyxy_to_xywh(gt.boxes),
            gt.ignore | gt.crowd,
            pred.box_frame_ids(),
            pred.class_ids,
            xyxy_to_xywh(pred.boxes),
            pred.scores,
            all_precisions=full,
        )  # fmt: skip
        for full in (True, False)
    }
    (p_full, r_full), (p_short, r_short) = arrays[True], arrays[False]
    assert np.array_equal(r_full, r_short)
    assert np.array_equal(p_full[..., 2], p_short[..., 2])
    assert summarize(p_full, r_full, gt.categories) == summarize(p_short, r_short, gt.categories)


def test_precision_at_recalls_by_hand() -> None:
    """Ranked TP, FP, TP with 2 ground truths: precision 1 up to recall 0.5, then 2/3 up to 1."""
    final, curve = precision_at_recalls(np.array([True, False, True]), np.array([False, True, False]), 2.0)
    assert final == 1.0
    assert curve[0] == curve[50] == pytest.approx(1.0)  # 1 / (1 + eps)
    assert curve[51] == curve[100] == pytest.approx(2 / 3)
    final, curve = precision_at_recalls(np.zeros(3, bool), np.ones(3, bool), 2.0)
    assert final == 0.0 and not curve.any()
