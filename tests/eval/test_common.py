"""Shared helpers: grouping, pairing, frame alignment."""

from __future__ import annotations

import numpy as np
import pytest

from vis4d.common.arrays import group_index
from vis4d.common.errors import DataError
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns
from vis4d.eval.common import align_frames, overlapping_pairs, pairs_within_groups


def test_pairs_within_groups_lists_every_same_group_pair_in_order() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 6, 40), rng.integers(0, 6, 30)
    ia, ib = pairs_within_groups(a, b)
    expected = [(i, j) for i in range(len(a)) for j in range(len(b)) if a[i] == b[j]]
    assert list(zip(ia.tolist(), ib.tolist(), strict=True)) == expected
    ia, ib = pairs_within_groups(a, np.zeros(0, np.int64))
    assert len(ia) == len(ib) == 0


def test_group_index_is_dense_and_lexicographic() -> None:
    seq = np.array([2, 0, 2, 1, 0, 2])
    tid = np.array([7, 9, 7, 1, 3, 5])
    ids, n = group_index(seq, tid)
    assert n == 5
    assert ids.tolist() == [4, 1, 4, 2, 0, 3]  # (0,3) (0,9) (1,1) (2,5) (2,7)


def _store(names: list[tuple[str, str]]) -> AnnotationStore:
    return build_store(["x"], [FrameRecord(f, v, i, f, boxes=empty_box_columns(0)) for i, (v, f) in enumerate(names)])


def test_align_frames_by_video_and_frame_name() -> None:
    gt = _store([("a", "1.jpg"), ("a", "2.jpg"), ("b", "1.jpg"), ("b", "2.jpg")])
    pred = _store([("b", "2.jpg"), ("a", "1.jpg")])  # different order, frames omitted
    rows = align_frames(gt, pred, "pred", "gt")
    video_of = pred.frame_video_ids()
    for p, g in enumerate(rows.tolist()):
        assert (pred.video_names[video_of[p]], pred.frame_names[p]) == (
            gt.video_names[gt.frame_video_ids()[g]], gt.frame_names[g])  # fmt: skip
    with pytest.raises(DataError, match="pred: frame '3.jpg' of video 'a' is not in the ground truth"):
        align_frames(gt, _store([("a", "3.jpg")]), "pred", "gt")
    twice = build_store(["x"], [FrameRecord("1.jpg", "a", 0, "1.jpg"), FrameRecord("1.jpg", "a", 1, "1.jpg")])
    with pytest.raises(DataError, match="listed more than once"):
        align_frames(gt, twice, "pred", "gt")


def _intersecting(group_a, boxes_a, group_b, boxes_b):  # type: ignore[no-untyped-def]
    """Brute force: every same-group pair whose float32 boxes intersect with positive area."""
    a, b = boxes_a.astype(np.float32), boxes_b.astype(np.float32)
    return [
        (i, j)
        for i in range(len(a))
        for j in range(len(b))
        if group_a[i] == group_b[j]
        and max(a[i, 0], b[j, 0]) < min(a[i, 2], b[j, 2])
        and max(a[i, 1], b[j, 1]) < min(a[i, 3], b[j, 3])
    ]


@pytest.mark.parametrize("seed", range(6))
def test_overlapping_pairs_is_every_intersecting_pair(seed: int) -> None:
    """Ties everywhere: identical boxes, shared edges and starts, zero width or height, negative and -0.0 values."""
    rng = np.random.default_rng(seed)

    def boxes(n: int) -> np.ndarray:
        xy = rng.integers(-6, 12, (n, 2)).astype(np.float32)  # a small grid: many equal coordinates
        wh = rng.integers(0, 6, (n, 2)).astype(np.float32)  # zero width or height too
        out = np.concatenate([xy, xy + wh], axis=1)
        out[rng.random(n) < 0.1] = 0.0
        out[rng.random(n) < 0.1, 0] = -0.0
        return out

    na, nb = int(rng.integers(0, 60)), int(rng.integers(0, 60))
    group_a, group_b = rng.integers(0, 4, na), rng.integers(0, 4, nb)
    boxes_a, boxes_b = boxes(na), boxes(nb)
    boxes_b[: min(na, nb) // 2] = boxes_a[: min(na, nb) // 2]  # identical boxes
    ia, jb = overlapping_pairs(group_a, boxes_a, group_b, boxes_b)
    assert list(zip(ia.tolist(), jb.tolist(), strict=True)) == _intersecting(group_a, boxes_a, group_b, boxes_b)


def test_overlapping_pairs_of_single_and_no_boxes() -> None:
    one = np.array([[0.0, 0.0, 2.0, 2.0]])
    assert [x.tolist() for x in overlapping_pairs(np.array([0]), one, np.array([0]), one)] == [[0], [0]]
    assert [x.tolist() for x in overlapping_pairs(np.array([0]), one, np.array([1]), one)] == [[], []]
    none = np.zeros((0, 4))
    assert [len(x) for x in overlapping_pairs(np.zeros(0, np.int64), none, np.array([0]), one)] == [0, 0]
