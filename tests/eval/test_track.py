"""CLEAR MOT / Identity / HOTA: parity with TrackEval and motmetrics, hand-computed cases, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.eval.reference import (
    BDD_CLASSES,
    BDD_SUPER,
    TRACKEVAL_FIELDS,
    assert_matches_trackeval,
    drop_boxes,
    pred_lookup,
    random_tracking,
    sample_stores,
    trackeval_bdd100k,
    trackeval_direct,
    trackeval_mot,
    trackeval_value,
)
from vis4d.common.errors import ConfigError, DataError
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns
from vis4d.eval.detect import xyxy_to_xywh
from vis4d.eval.track import evaluate_tracking


# --------------------------------------------------------------------------------------- parity with TrackEval
@pytest.mark.parametrize(("seed", "num_tracks", "threshold"), [(0, 12, 0.5), (1, 30, 0.5), (2, 60, 0.5), (3, 30, 0.7)])
def test_metrics_match_trackeval(seed: int, num_tracks: int, threshold: float) -> None:
    """Dense scenes force conflicting candidates (Hungarian solves with the continuation bonus)."""
    gt, pred = random_tracking(seed, num_tracks=num_tracks)
    ours = evaluate_tracking(gt, pred, iou_threshold=threshold)
    ref = trackeval_direct(gt, pred, threshold)
    for name, result in ref["per_class"].items():
        assert_matches_trackeval(ours["per_class"][name], result)
    assert_matches_trackeval(ours["overall"], ref["overall"])
    # Classes with ground truth: "mean" is their plain average (BDD100K's mMOTA, mIDF1, mHOTA).
    with_gt = [n for n, r in ref["per_class"].items() if r["CLEAR"]["CLR_TP"] + r["CLEAR"]["CLR_FN"] > 0]
    for key in ("MOTA", "IDF1", "HOTA", "MOTP", "AssA"):
        expected = np.mean([trackeval_value(ref["per_class"][n], key) for n in with_gt])
        assert ours["mean"][key] == pytest.approx(expected, abs=1e-9)
    assert ours["mean"]["FP"] == ours["overall"]["FP"] == sum(r["CLEAR"]["CLR_FP"] for r in ref["per_class"].values())
    assert ours["overall"]["IDSW"] > 0 and ours["overall"]["Frag"] > 0  # the data exercises both


@pytest.mark.parametrize("seed", [0, 1])
def test_bdd100k_preprocessing_matches_trackeval(seed: int, tmp_path: Path) -> None:
    """TrackEval's BDD100K dataset (crowd and distractor ignore regions, super-categories) end to end."""
    gt, pred = random_tracking(seed, categories=BDD_CLASSES, num_tracks=30, ignore_rate=0.1, crowd_rate=0.5)
    ours = evaluate_tracking(gt, pred, super_categories=BDD_SUPER)
    ref = trackeval_bdd100k(gt, pred, tmp_path)
    for name in BDD_CLASSES:
        if name in ours["per_class"]:
            assert_matches_trackeval(ours["per_class"][name], ref[name])
    for name in BDD_SUPER:
        assert_matches_trackeval(ours["super_categories"][name], ref[name.upper()])
    assert_matches_trackeval(ours["overall"], ref["cls_comb_det_av"])
    # The preprocessing matters here: without the ignore regions, more predictions count as false positives.
    assert evaluate_tracking(drop_ignored(gt), pred)["overall"]["FP"] > ours["overall"]["FP"]


def drop_ignored(store: AnnotationStore) -> AnnotationStore:
    return drop_boxes(store, ~(store.ignore | store.crowd))


@pytest.mark.parametrize("seed", [0, 1])
def test_mot17_distractor_rule_matches_trackeval(seed: int, tmp_path: Path) -> None:
    """TrackEval's MotChallenge2DBox (MOT17): predictions matched to distractors are removed."""
    gt, pred = random_tracking(seed, categories=("pedestrian",), num_tracks=25, ignore_rate=0.15, crowd_rate=0.5)
    ours = evaluate_tracking(gt, pred, ignore_rule="motchallenge")
    ref = trackeval_mot(gt, pred, tmp_path)
    assert_matches_trackeval(ours["per_class"]["pedestrian"], ref["pedestrian"])
    assert ours["overall"]["FP"] < evaluate_tracking(drop_ignored(gt), pred)["overall"]["FP"]


def test_real_bdd100k_sample_matches_trackeval(tmp_path: Path) -> None:
    gt, pred = sample_stores(seed=1)
    assert gt.num_boxes == 87 + 167 and gt.crowd.sum() == 1
    ours = evaluate_tracking(gt, pred, super_categories=BDD_SUPER)
    ref = trackeval_bdd100k(gt, pred, tmp_path)
    for name in ours["per_class"]:
        assert_matches_trackeval(ours["per_class"][name], ref[name])
    assert_matches_trackeval(ours["overall"], ref["cls_comb_det_av"])
    assert ours["overall"]["IDSW"] > 0


# ------------------------------------------------------------------------------------- parity with motmetrics
def motmetrics_reference(gt: AnnotationStore, pred: AnnotationStore) -> dict[str, dict[str, float]]:
    np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]  # removed in numpy 2
    import motmetrics as mm

    lookup = pred_lookup(gt, pred)
    out = {}
    for k, name in enumerate(gt.categories):
        accumulators = []
        for v in range(gt.num_videos):
            acc = mm.MOTAccumulator(auto_id=True)
            for f in gt.frame_range(v):
                g = gt.frame_boxes(f)
                row = lookup.get((str(gt.video_names[v]), str(gt.frame_names[f])))
                p = pred.frame_boxes(row) if row is not None else empty_box_columns(0)
                gm, pm = g["class_ids"] == k, p["class_ids"] == k
                dist = mm.distances.iou_matrix(xyxy_to_xywh(g["boxes"][gm]), xyxy_to_xywh(p["boxes"][pm]), max_iou=0.5)
                acc.update(g["track_ids"][gm], p["track_ids"][pm], dist)
            accumulators.append(acc)
        names = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses"]
        summary = mm.metrics.create().compute_many(accumulators, metrics=names, generate_overall=True)
        out[name] = summary.loc["OVERALL"].to_dict()
    return out


@pytest.mark.parametrize(("seed", "num_tracks"), [(0, 12), (4, 40)])
def test_metrics_match_motmetrics(seed: int, num_tracks: int) -> None:
    gt, pred = random_tracking(seed, num_tracks=num_tracks)
    ours = evaluate_tracking(gt, pred)["per_class"]
    for name, ref in motmetrics_reference(gt, pred).items():
        assert ours[name]["MOTA"] == pytest.approx(ref["mota"], abs=1e-9)
        assert ours[name]["IDF1"] == pytest.approx(ref["idf1"], abs=1e-9)
        assert ours[name]["IDSW"] == ref["num_switches"]
        assert ours[name]["FP"] == ref["num_false_positives"]
        assert ours[name]["FN"] == ref["num_misses"]


# ------------------------------------------------------------------------------------------ hand-computed cases
A, B, C = [0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 110, 110]


def _video(frames_gt: list[dict[int, list[float]]], frames_pred: list[dict[int, list[float]]],
           categories: tuple[str, ...] = ("car",)) -> tuple[AnnotationStore, AnnotationStore]:  # fmt: skip
    """One video; each frame maps track id -> box (class 0)."""

    def store(frames: list[dict[int, list[float]]]) -> AnnotationStore:
        records = []
        for t, boxes in enumerate(frames):
            cols = empty_box_columns(len(boxes))
            cols["boxes"] = np.array(list(boxes.values()), dtype=np.float32).reshape(-1, 4)
            cols["track_ids"] = np.array(list(boxes), dtype=np.int64)
            records.append(FrameRecord(f"{t}.jpg", "video", t, f"{t}.jpg", boxes=cols))
        return build_store(categories, records)

    return store(frames_gt), store(frames_pred)


def test_hand_computed_clear_identity_hota() -> None:
    # frame 0: gt {1: A, 2: B}, pred {10: A, 20: B}   -> 2 TP
    # frame 1: gt {1: A, 2: B}, pred {10: A, 40: C}   -> 1 TP, B missed (FN), C a false positive
    # frame 2: gt {1: A},       pred {30: A}          -> 1 TP, an ID switch (track 1: 10 -> 30)
    gt, pred = _video([{1: A, 2: B}, {1: A, 2: B}, {1: A}], [{10: A, 20: B}, {10: A, 40: C}, {30: A}])
    m = evaluate_tracking(gt, pred)["per_class"]["car"]
    # CLEAR: MOTA = 1 - (FN + FP + IDSW) / #gt = 1 - 3/5; every match has IoU 1.
    assert (m["TP"], m["FN"], m["FP"], m["IDSW"]) == (4, 1, 1, 1)
    assert m["MOTA"] == pytest.approx(0.4) and m["MOTP"] == pytest.approx(1.0)
    # Track 1 matched in 3/3 frames (MT), track 2 in 1/2 (PT); both one unbroken run: no fragmentation.
    assert (m["MT"], m["PT"], m["ML"], m["Frag"]) == (1, 1, 0, 0)
    # Identity: co-occurrence (1,10)=2, (1,30)=1, (2,20)=1; best one-to-one: 1-10 and 2-20 -> IDTP 3 of 5 and 5.
    assert (m["IDTP"], m["IDFN"], m["IDFP"]) == (3, 2, 2)
    assert m["IDF1"] == pytest.approx(0.6) and m["IDP"] == pytest.approx(0.6) and m["IDR"] == pytest.approx(0.6)
    # HOTA (IoU 1 everywhere, so every alpha alike): DetA = 4 / (4 + 1 + 1) = 2/3.
    # AssA = sum over matches of A(pair): (1,10) twice with 2/(3+2-2), (2,20) 1/(2+1-1), (1,30) 1/(3+1-1):
    # (2 * 2/3 + 1/2 + 1/3) / 4 = 13/24; HOTA = sqrt(2/3 * 13/24) = sqrt(13)/6.
    assert m["DetA"] == pytest.approx(2 / 3)
    assert m["AssA"] == pytest.approx(13 / 24)
    assert m["HOTA"] == pytest.approx(np.sqrt(13) / 6)
    assert m["LocA"] == pytest.approx(1.0)


def test_hand_computed_fragmentation_and_mostly_tracked_boundary() -> None:
    # One track over 5 frames, matched in frames 0, 1, 3, 4; frame 2 has only a false positive elsewhere.
    gt, pred = _video([{1: A}] * 5, [{7: A}, {7: A}, {8: C}, {7: A}, {7: A}])
    m = evaluate_tracking(gt, pred)["per_class"]["car"]
    assert (m["TP"], m["FN"], m["FP"], m["IDSW"]) == (4, 1, 1, 0)
    assert m["MOTA"] == pytest.approx((4 - 1) / 5)
    assert m["Frag"] == 1  # two runs: frames 0-1 and 3-4
    assert (m["MT"], m["PT"], m["ML"]) == (0, 1, 0)  # tracked 80%: MT needs more than 80% (TrackEval)
    # TrackEval only looks at frames with both ground truth and predictions: a frame without any prediction does
    # not interrupt a run.
    gt2, pred2 = _video([{1: A}] * 5, [{7: A}, {7: A}, {}, {7: A}, {7: A}])
    assert evaluate_tracking(gt2, pred2)["per_class"]["car"]["Frag"] == 0


def test_hand_computed_hota_localisation() -> None:
    # One track, two frames: IoU 1, then IoU 0.625 (box [0, 0, 10, 6.25] inside A). For the 12 alphas up to 0.60 both
    # frames match: DetA = AssA = 1. For the 7 alphas from 0.65 only frame 0 matches: TP 1, FN 1, FP 1 ->
    # DetA = 1/3, AssA = 1 * (1 / (2 + 2 - 1)) / 1 = 1/3, HOTA_alpha = 1/3. Averages: (12 + 7/3) / 19 = 43/57.
    # LocA: (1 + 0.625) / 2 for 12 alphas, 1 for 7 -> (12 * 0.8125 + 7) / 19.
    gt, pred = _video([{1: A}, {1: A}], [{5: A}, {5: [0, 0, 10, 6.25]}])
    m = evaluate_tracking(gt, pred)["per_class"]["car"]
    assert m["HOTA"] == pytest.approx(43 / 57)
    assert m["DetA"] == pytest.approx(43 / 57) and m["AssA"] == pytest.approx(43 / 57)
    assert m["LocA"] == pytest.approx((12 * 0.8125 + 7) / 19)
    assert m["MOTA"] == pytest.approx(1.0) and m["MOTP"] == pytest.approx(0.8125) and m["IDF1"] == pytest.approx(1.0)


def test_predictions_on_ignore_regions_are_not_false_positives() -> None:
    # Frame 0: a counted car (track 1) and an ignore region R. Predictions: one on the car, one inside R.
    region = [50, 50, 90, 90]
    gt, pred = _video([{1: A, 2: region}], [{10: A, 11: [55, 55, 85, 85]}])
    gt.ignore[1] = True
    for rule in ("bdd100k", "motchallenge"):
        m = evaluate_tracking(gt, pred, ignore_rule=rule)["overall"]
        # bdd100k: the unmatched prediction lies fully inside R (IoF 1 > 0.5); mot: it matches R with IoU 0.5625.
        assert (m["TP"], m["FP"], m["FN"], m["num_gt_dets"]) == (1, 0, 0, 1), rule
    # A prediction only partly inside the region (IoF 0.4, IoU < 0.5) is a false positive under both rules.
    gt2, pred2 = _video([{1: A, 2: region}], [{10: A, 11: [74, 50, 114, 90]}])
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
