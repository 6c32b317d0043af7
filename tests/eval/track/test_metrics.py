"""CLEAR MOT / Identity / HOTA on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from tests.eval.track.cases import A, B, C, video_stores
from vis4d.eval.track import evaluate_tracking


def test_hand_computed_clear_identity_hota() -> None:
    # frame 0: gt {1: A, 2: B}, pred {10: A, 20: B}   -> 2 TP
    # frame 1: gt {1: A, 2: B}, pred {10: A, 40: C}   -> 1 TP, B missed (FN), C a false positive
    # frame 2: gt {1: A},       pred {30: A}          -> 1 TP, an ID switch (track 1: 10 -> 30)
    gt, pred = video_stores([{1: A, 2: B}, {1: A, 2: B}, {1: A}], [{10: A, 20: B}, {10: A, 40: C}, {30: A}])
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
    gt, pred = video_stores([{1: A}] * 5, [{7: A}, {7: A}, {8: C}, {7: A}, {7: A}])
    m = evaluate_tracking(gt, pred)["per_class"]["car"]
    assert (m["TP"], m["FN"], m["FP"], m["IDSW"]) == (4, 1, 1, 0)
    assert m["MOTA"] == pytest.approx((4 - 1) / 5)
    assert m["Frag"] == 1  # two runs: frames 0-1 and 3-4
    assert (m["MT"], m["PT"], m["ML"]) == (0, 1, 0)  # tracked 80%: MT needs more than 80% (TrackEval)
    # TrackEval only looks at frames with both ground truth and predictions: a frame without any prediction does
    # not interrupt a run.
    gt2, pred2 = video_stores([{1: A}] * 5, [{7: A}, {7: A}, {}, {7: A}, {7: A}])
    assert evaluate_tracking(gt2, pred2)["per_class"]["car"]["Frag"] == 0


def test_hand_computed_hota_localisation() -> None:
    # One track, two frames: IoU 1, then IoU 0.625 (box [0, 0, 10, 6.25] inside A). For the 12 alphas up to 0.60 both
    # frames match: DetA = AssA = 1. For the 7 alphas from 0.65 only frame 0 matches: TP 1, FN 1, FP 1 ->
    # DetA = 1/3, AssA = 1 * (1 / (2 + 2 - 1)) / 1 = 1/3, HOTA_alpha = 1/3. Averages: (12 + 7/3) / 19 = 43/57.
    # LocA: (1 + 0.625) / 2 for 12 alphas, 1 for 7 -> (12 * 0.8125 + 7) / 19.
    gt, pred = video_stores([{1: A}, {1: A}], [{5: A}, {5: [0, 0, 10, 6.25]}])
    m = evaluate_tracking(gt, pred)["per_class"]["car"]
    assert m["HOTA"] == pytest.approx(43 / 57)
    assert m["DetA"] == pytest.approx(43 / 57) and m["AssA"] == pytest.approx(43 / 57)
    assert m["LocA"] == pytest.approx((12 * 0.8125 + 7) / 19)
    assert m["MOTA"] == pytest.approx(1.0) and m["MOTP"] == pytest.approx(0.8125) and m["IDF1"] == pytest.approx(1.0)
