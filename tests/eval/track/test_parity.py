"""CLEAR MOT / Identity / HOTA equal TrackEval's and motmetrics' numbers on the same inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.eval.reference import (
    BDD_CLASSES,
    BDD_SUPER,
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
from vis4d.data.store import AnnotationStore, empty_box_columns
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
