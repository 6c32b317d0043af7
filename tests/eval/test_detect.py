"""COCO AP: parity with pycocotools / faster-coco-eval, a hand-computed case, and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.eval.reference import coco_reference, drop_boxes, random_detection, sample_stores
from vis4d.common.errors import DataError
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns
from vis4d.eval.detect import METRIC_NAMES, coco_precision_recall, evaluate_detection, xyxy_to_xywh


def _stats(result: dict) -> np.ndarray:
    return np.array([-1.0 if result[k] is None else result[k] for k in METRIC_NAMES])


def _assert_same_as_cocoeval(gt: AnnotationStore, pred: AnnotationStore, engine: str = "pycocotools") -> None:
    ours = evaluate_detection(gt, pred)
    ref = coco_reference(gt, pred, engine)
    np.testing.assert_allclose(_stats(ours), np.asarray(ref.stats)[: len(METRIC_NAMES)], atol=1e-6, rtol=0)
    # Per class: the mean of COCOeval's precision / recall slices for that class (absent: no ground truth).
    precision, recall = ref.eval["precision"], ref.eval["recall"]
    for k, name in enumerate(gt.categories):
        ref_ap = precision[:, :, k, 0, 2]
        if not (ref_ap > -1).any():
            assert name not in ours["per_class"]
            continue
        assert ours["per_class"][name]["AP"] == pytest.approx(ref_ap[ref_ap > -1].mean(), abs=1e-6)
        ref_ar = recall[:, k, 0, 2]
        assert ours["per_class"][name]["AR100"] == pytest.approx(ref_ar[ref_ar > -1].mean(), abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_matches_pycocotools_on_random_data(seed: int) -> None:
    gt, pred = random_detection(seed, crowd_rate=0.15)
    assert pred.num_boxes > 0 and (gt.crowd.any() or seed > 3)
    _assert_same_as_cocoeval(gt, pred)


def test_precision_recall_arrays_are_identical_to_pycocotools() -> None:
    gt, pred = random_detection(11, num_images=40, crowd_rate=0.2)
    ref = coco_reference(gt, pred)
    frame_of = {str(n): i for i, n in enumerate(gt.frame_names)}
    pred_image = np.array([frame_of[str(n)] for n in pred.frame_names])[pred.box_frame_ids()]
    precision, recall = coco_precision_recall(
        len(gt.categories), gt.box_frame_ids(), gt.class_ids, xyxy_to_xywh(gt.boxes), gt.ignore,
        pred_image, pred.class_ids, xyxy_to_xywh(pred.boxes), pred.scores,
    )  # fmt: skip
    np.testing.assert_array_equal(precision, ref.eval["precision"])
    np.testing.assert_array_equal(recall, ref.eval["recall"])


def test_matches_faster_coco_eval() -> None:
    gt, pred = random_detection(21, num_images=30, score_decimals=None)
    _assert_same_as_cocoeval(gt, pred, engine="faster_coco_eval")


def test_more_than_100_detections_per_image_and_tied_scores() -> None:
    """COCO keeps the 100 best-scored detections per image and class; ties keep input order."""
    rng = np.random.default_rng(3)
    gt_frames, pred_frames = [], []
    for i in range(3):
        g = empty_box_columns(30)
        xy = rng.uniform(0, 500, (30, 2))
        g["boxes"] = np.concatenate([xy, xy + rng.uniform(10, 80, (30, 2))], 1).astype(np.float32)
        p = empty_box_columns(160)
        p["boxes"] = g["boxes"][rng.integers(0, 30, 160)] + rng.normal(0, 4, (160, 4)).astype(np.float32)
        p["scores"] = np.round(rng.random(160), 1).astype(np.float32)
        gt_frames.append(FrameRecord(f"im{i}", "", i, f"im{i}", boxes=g))
        pred_frames.append(FrameRecord(f"im{i}", "", i, f"im{i}", boxes=p))
    _assert_same_as_cocoeval(build_store(["x"], gt_frames), build_store(["x"], pred_frames))


def test_bdd100k_sample_with_perturbed_predictions() -> None:
    gt, pred = sample_stores()
    _assert_same_as_cocoeval(gt, pred)


def _one_image(gt_boxes: list, gt_crowd: list, pred_boxes: list, scores: list) -> tuple[AnnotationStore, ...]:
    g = empty_box_columns(len(gt_boxes))
    g["boxes"] = np.array(gt_boxes, dtype=np.float32)
    g["crowd"] = g["ignore"] = np.array(gt_crowd, dtype=bool)
    p = empty_box_columns(len(pred_boxes))
    p["boxes"] = np.array(pred_boxes, dtype=np.float32)
    p["scores"] = np.array(scores, dtype=np.float32)
    return (build_store(["car"], [FrameRecord("a.jpg", "", 0, "a.jpg", boxes=g)]),
            build_store(["car"], [FrameRecord("a.jpg", "", 0, "a.jpg", boxes=p)]))  # fmt: skip


def test_hand_computed_ap() -> None:
    # Two large cars G1, G2 and a crowd region. Detections by score: C (0.95, inside the crowd region: ignored),
    # D1 (0.9, = G1: TP), D2 (0.8, far away: FP), D3 (0.7, = G2: TP) -- at every IoU threshold.
    # Ranked TP, FP, TP: recall 0.5, 0.5, 1.0; precision 1, 0.5, 2/3 -> interpolated 1, 2/3, 2/3.
    # Recall points 0.00..0.50 (51) read 1, points 0.51..1.00 (50) read 2/3:
    # AP = (51 * 1 + 50 * 2/3) / 101. AR1 uses only the best detection per image: D1 -> recall 0.5.
    g1, g2, crowd = [0, 0, 200, 200], [300, 0, 500, 200], [600, 0, 900, 300]
    gt, pred = _one_image(
        [g1, g2, crowd], [False, False, True],
        [[650, 50, 700, 100], g1, [0, 500, 150, 650], g2], [0.95, 0.9, 0.8, 0.7],
    )  # fmt: skip
    result = evaluate_detection(gt, pred)
    expected_ap = (51 + 50 * 2 / 3) / 101
    assert result["AP"] == pytest.approx(expected_ap, abs=1e-12)
    assert result["AP50"] == pytest.approx(expected_ap, abs=1e-12)
    assert result["APl"] == pytest.approx(expected_ap, abs=1e-12)
    assert result["APs"] is None and result["APm"] is None  # no ground truth of those sizes
    # AR1 counts only the best-scored detection, C, which sits on the crowd region: recall 0.
    assert result["AR1"] == pytest.approx(0.0)
    assert result["AR10"] == pytest.approx(1.0)
    assert result["per_class"]["car"]["AP"] == pytest.approx(expected_ap, abs=1e-12)
    # Without the crowd-region detection the ranking is the same: nothing changes except AR1 (now D1: 0.5).
    gt2, pred2 = _one_image([g1, g2, crowd], [False, False, True], [g1, [0, 500, 150, 650], g2], [0.9, 0.8, 0.7])
    result2 = evaluate_detection(gt2, pred2)
    assert result2["AP"] == pytest.approx(expected_ap, abs=1e-12)
    assert result2["AR1"] == pytest.approx(0.5)


def test_classes_without_ground_truth_are_left_out() -> None:
    gt, pred = random_detection(5, categories=("a", "b", "c"))
    gt = drop_boxes(gt, gt.class_ids != 2)
    result = evaluate_detection(gt, pred)
    assert set(result["per_class"]) == {"a", "b"}
    _assert_same_as_cocoeval(gt, pred)


def test_no_predictions_gives_zero_ap() -> None:
    gt, pred = random_detection(2)
    empty = build_store(gt.categories, [])
    result = evaluate_detection(gt, empty)
    assert result["AP"] == 0.0 and result["AR100"] == 0.0


def test_prediction_frame_not_in_ground_truth() -> None:
    gt, _ = random_detection(1, num_images=3)
    p = empty_box_columns(1)
    p["boxes"] = np.array([[0, 0, 5, 5]], np.float32)
    pred = build_store(gt.categories, [FrameRecord("nope.jpg", "", 0, "nope.jpg", boxes=p)])
    with pytest.raises(DataError, match="'nope.jpg'.*not in the ground truth"):
        evaluate_detection(gt, pred, source="preds.json")


def test_nan_score_and_unknown_category() -> None:
    gt, pred = random_detection(1)
    bad = dataclasses.replace(pred, scores=pred.scores.copy())
    bad.scores[3] = np.nan
    with pytest.raises(DataError, match="preds.json: non-finite score in frame"):
        evaluate_detection(gt, bad, source="preds.json")
    other = dataclasses.replace(pred, categories=("a", "b", "c", "zebra"))
    other.class_ids[:] = 3
    with pytest.raises(DataError, match=r"unknown categories \['zebra'\]"):
        evaluate_detection(gt, other)
