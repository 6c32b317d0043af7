"""evaluate_tracking's conventions: ignore regions, super-categories, empty inputs, bad input, result fields."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.eval.reference import (
    TRACKEVAL_FIELDS,
    drop_boxes,
    random_tracking,
)
from tests.eval.track.cases import A, video_stores
from vis4d.common.errors import ConfigError, DataError
from vis4d.data.store import AnnotationStore, build_store
from vis4d.eval.track import evaluate_tracking


def test_predictions_on_ignore_regions_are_not_false_positives() -> None:
    # Frame 0: a counted car (track 1) and an ignore region R. Predictions: one on the car, one inside R.
    region = [50, 50, 90, 90]
    gt, pred = video_stores([{1: A, 2: region}], [{10: A, 11: [55, 55, 85, 85]}])
    gt.ignore[1] = True
    for rule in ("bdd100k", "motchallenge"):
        m = evaluate_tracking(gt, pred, ignore_rule=rule)["overall"]
        # bdd100k: the unmatched prediction lies fully inside R (IoF 1 > 0.5); mot: it matches R with IoU 0.5625.
        assert (m["TP"], m["FP"], m["FN"], m["num_gt_dets"]) == (1, 0, 0, 1), rule
    # A prediction only partly inside the region (IoF 0.4, IoU < 0.5) is a false positive under both rules.
    gt2, pred2 = video_stores([{1: A, 2: region}], [{10: A, 11: [74, 50, 114, 90]}])
    gt2.ignore[1] = True
    for rule in ("bdd100k", "motchallenge"):
        assert evaluate_tracking(gt2, pred2, ignore_rule=rule)["overall"]["FP"] == 1, rule


def test_super_categories_pool_their_classes_and_mean_skips_classes_without_gt() -> None:
    gt, pred = random_tracking(3, categories=("car", "truck", "pedestrian", "train"), num_tracks=20)
    gt = drop_class(gt, 3)  # no "train" ground truth, but predictions of it
    result = evaluate_tracking(gt, pred, super_categories={"vehicle": ["car", "truck", "train", "bus"]})
    per_class = result["per_class"]
    assert per_class["train"]["num_gt_dets"] == 0 and per_class["train"]["FP"] > 0
    vehicle = result["super_categories"]["vehicle"]
    assert vehicle["FP"] == sum(per_class[c]["FP"] for c in ("car", "truck", "train"))
    tp, fn, fp, idsw = (vehicle[k] for k in ("TP", "FN", "FP", "IDSW"))
    assert vehicle["MOTA"] == pytest.approx((tp - fp - idsw) / (tp + fn))
    assert result["mean"]["MOTA"] == pytest.approx(
        np.mean([per_class[c]["MOTA"] for c in ("car", "truck", "pedestrian")])
    )


def drop_class(store: AnnotationStore, class_id: int) -> AnnotationStore:
    return drop_boxes(store, store.class_ids != class_id)


def test_empty_predictions_and_empty_ground_truth() -> None:
    gt, pred = random_tracking(0)
    none = build_store(gt.categories, [])
    m = evaluate_tracking(gt, none)["overall"]
    assert m["TP"] == 0 and m["FN"] == m["num_gt_dets"] > 0 and m["ML"] == m["num_gt_tracks"]
    assert m["MOTA"] == 0.0 and m["HOTA"] == 0.0
    no_gt = evaluate_tracking(drop_boxes(gt, np.zeros(gt.num_boxes, dtype=bool)), pred)
    assert no_gt["mean"]["MOTA"] is None and no_gt["overall"]["FP"] == pred.num_boxes


# ------------------------------------------------------------------------------------------------- bad input
def test_bad_input_raises_data_error_naming_the_frame() -> None:
    gt, pred = random_tracking(0, num_videos=1, num_frames=4, num_tracks=5, drop_pred_frames=0.0)
    dup = dataclasses.replace(pred, track_ids=pred.track_ids.copy())
    rows = pred.box_slice(1)
    dup.track_ids[rows.start + 1] = dup.track_ids[rows.start]
    with pytest.raises(DataError, match=r"run\.json: track id \d+ appears more than once in frame 'v0-0001\.jpg'"):
        evaluate_tracking(gt, dup, source="run.json")
    nan = dataclasses.replace(pred, scores=pred.scores.copy())
    nan.scores[0] = np.nan
    with pytest.raises(DataError, match="run.json: non-finite score in frame 'v0-0000.jpg'"):
        evaluate_tracking(gt, nan, source="run.json")
    no_id = dataclasses.replace(pred, track_ids=pred.track_ids.copy())
    no_id.track_ids[0] = -1
    with pytest.raises(DataError, match="has no track id"):
        evaluate_tracking(gt, no_id)
    other = dataclasses.replace(pred, video_names=np.array(["elsewhere"]))
    with pytest.raises(
        DataError, match="run.json: frame 'v0-0000.jpg' of video 'elsewhere' is not in the ground truth"
    ):
        evaluate_tracking(gt, other, source="run.json")
    renamed = dataclasses.replace(pred, categories=("car", "pedestrian", "bicycle"))
    with pytest.raises(DataError, match="unknown categories"):
        evaluate_tracking(gt, renamed)
    with pytest.raises(ConfigError, match="ignore_rule"):
        evaluate_tracking(gt, pred, ignore_rule="kitti")  # type: ignore[arg-type]


def test_all_fields_present_and_json_types() -> None:
    gt, pred = random_tracking(1)
    result = evaluate_tracking(gt, pred)
    for group in [*result["per_class"].values(), result["mean"], result["overall"]]:
        assert set(TRACKEVAL_FIELDS) <= set(group)
        for key, value in group.items():
            assert type(value) in (int, float), key
