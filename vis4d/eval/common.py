"""Input checks and vectorised building blocks shared by the evaluators.

Both evaluators take a ground-truth and a prediction :class:`AnnotationStore`.
Prediction frames are matched to ground-truth frames by (video name, frame
name); everything after that works on flat per-box arrays, so the helpers here
are about turning "boxes of the same frame (and class)" into index pairs
without Python loops over boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import combined_key
from vis4d.common.errors import DataError
from vis4d.data.store import AnnotationStore

# TrackEval and pycocotools compare against float64 machine epsilon; using the
# same constant keeps threshold decisions identical to theirs.
EPS = float(np.finfo(float).eps)
_KEY_SEPARATOR = "\x1f"  # cannot appear in a video or frame name read from JSON/text in practice


def _frame_keys(store: AnnotationStore) -> npt.NDArray[np.str_]:
    """``video<sep>frame`` per frame: the identity used to match prediction frames to ground truth."""
    video_of_frame = store.video_names[store.frame_video_ids()] if store.num_frames else store.video_names[:0]
    return np.char.add(np.char.add(video_of_frame.astype(np.str_), _KEY_SEPARATOR), store.frame_names.astype(np.str_))


def _describe_key(key: str) -> str:
    video, _, frame = key.partition(_KEY_SEPARATOR)
    return f"frame {frame!r} of video {video!r}" if video else f"frame {frame!r}"


def _same_frames(gt: AnnotationStore, pred: AnnotationStore) -> bool:
    """Tell whether ``pred`` lists exactly the ground truth's frames in the same order (the trainer's case)."""
    return (
        gt.num_frames == pred.num_frames
        and gt.num_videos == pred.num_videos
        and np.array_equal(gt.video_offsets, pred.video_offsets)
        and np.array_equal(gt.video_names, pred.video_names)
        and np.array_equal(gt.frame_names, pred.frame_names)
    )


def check_categories(gt: AnnotationStore, pred: AnnotationStore, source: str) -> None:
    """Predictions must use the ground truth's category list (class ids index into it)."""
    if tuple(pred.categories) == tuple(gt.categories):
        return
    used = np.unique(pred.class_ids) if pred.num_boxes else np.zeros(0, np.int64)
    unknown = sorted({pred.categories[i] for i in used.tolist()} - set(gt.categories))
    if unknown:
        raise DataError(f"{source}: unknown categories {unknown}; the ground truth has {list(gt.categories)}")
    raise DataError(
        f"{source}: category list {list(pred.categories)} differs from the ground truth's {list(gt.categories)}; "
        "load predictions with the ground truth's categories"
    )


def check_finite(store: AnnotationStore, source: str, check_scores: bool) -> None:
    """NaN/inf boxes or scores make every comparison meaningless: reject them, naming the first frame."""
    bad = ~np.isfinite(store.boxes).all(axis=1)
    what = "box coordinate"
    if check_scores:
        bad_scores = ~np.isfinite(store.scores)
        if bad_scores.any() and (not bad.any() or np.argmax(bad_scores) < np.argmax(bad)):
            bad, what = bad_scores, "score"
    if bad.any():
        row = int(np.argmax(bad))
        frame = int(store.box_frame_ids()[row])
        raise DataError(
            f"{source}: non-finite {what} in frame {str(store.frame_names[frame])!r} ({int(bad.sum())} boxes affected)"
        )


def align_frames(gt: AnnotationStore, pred: AnnotationStore, source: str, gt_source: str) -> npt.NDArray[np.int64]:
    """Ground-truth frame row of every prediction frame.

    Raises :class:`DataError` for a prediction frame that is not in the ground
    truth, or a frame listed twice. Predictions may omit frames.
    """
    if _same_frames(gt, pred):
        return np.arange(pred.num_frames, dtype=np.int64)
    gt_keys = _frame_keys(gt)
    pred_keys = _frame_keys(pred)
    order = np.argsort(gt_keys, kind="stable")
    sorted_keys = gt_keys[order]
    if len(sorted_keys) > 1:
        dup = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if len(dup):
            raise DataError(f"{gt_source}: {_describe_key(str(sorted_keys[dup[0]]))} is listed more than once")
    pos = np.searchsorted(sorted_keys, pred_keys)
    pos_clipped = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    found = (pos < len(sorted_keys)) & (sorted_keys[pos_clipped] == pred_keys) if len(sorted_keys) else pos < 0
    if not found.all():
        missing = pred_keys[~found]
        raise DataError(
            f"{source}: {_describe_key(str(missing[0]))} is not in the ground truth "
            f"({len(missing)} prediction frames unknown)"
        )
    rows = order[pos_clipped].astype(np.int64)
    counts = np.bincount(rows, minlength=gt.num_frames)
    if (counts > 1).any():
        twice = int(np.argmax(counts > 1))
        raise DataError(f"{source}: {_describe_key(str(gt_keys[twice]))} is listed more than once")
    return rows


def check_unique_track_ids(
    frame_of_box: npt.NDArray[np.int64],
    track_ids: npt.NDArray[np.int64],
    frame_names: npt.NDArray[np.str_],
    source: str,
) -> None:
    """Reject a track id used twice in one frame (TrackEval refuses it too), naming the frame."""
    if len(track_ids) < 2:
        return
    packed = combined_key((frame_of_box, track_ids))
    if packed is not None:  # boxes come by frame: a merge sort of one key is nearly linear on them
        keys = np.sort(packed[0], kind="stable")
        if not (keys[1:] == keys[:-1]).any():
            return
    order = np.lexsort((track_ids, frame_of_box))
    same = (frame_of_box[order][1:] == frame_of_box[order][:-1]) & (track_ids[order][1:] == track_ids[order][:-1])
    if same.any():
        first = order[int(np.argmax(same))]
        raise DataError(
            f"{source}: track id {int(track_ids[first])} appears more than once in frame "
            f"{str(frame_names[frame_of_box[first]])!r}"
        )


def pairs_within_groups(
    group_a: npt.NDArray[np.int64], group_b: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All index pairs ``(i, j)`` with ``group_a[i] == group_b[j]`` (e.g. boxes of the same frame and class).

    Pairs come ordered by ``i``, then by ``j`` (so a group's rows keep their
    input order, which is what reference implementations iterate in).
    """
    order_b = np.argsort(group_b, kind="stable")
    sorted_b = group_b[order_b]
    start = np.searchsorted(sorted_b, group_a, side="left")
    counts = np.searchsorted(sorted_b, group_a, side="right") - start
    total = int(counts.sum())
    ia = np.repeat(np.arange(len(group_a), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    ib = order_b[np.repeat(start, counts) + offsets]
    return ia, ib.astype(np.int64)


def sorted_unique(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``np.unique`` of an already sorted array (no sort)."""
    if len(values) == 0:
        return values
    out: npt.NDArray[np.int64] = values[np.concatenate([[True], values[1:] != values[:-1]])]
    return out


def unique_below(values: npt.NDArray[np.int64], bound: int) -> npt.NDArray[np.int64]:
    """``np.unique`` of non-negative integers below ``bound``: a flag array when that is small, a sort otherwise."""
    if bound > 1 << 26:
        return np.unique(values)
    present = np.zeros(bound, dtype=bool)
    present[values] = True
    return np.flatnonzero(present).astype(np.int64)


def segment_starts(sorted_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Start index of each run of equal values in a sorted array (for ``ufunc.reduceat``)."""
    if len(sorted_ids) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], sorted_ids[1:] != sorted_ids[:-1]])).astype(np.int64)


def _ordered_keys(group: npt.NDArray[np.int64], x: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """``(group, x)`` as one int64 in the same order: the group above 32 bits, below it float32 ``x``'s bits.

    The bits are mapped to unsigned integers in the order of the numbers
    (exact: no rounding, equal values give equal keys).
    """
    keys: npt.NDArray[np.int64] = (group.astype(np.int64) << 32) + ordered_float_bits(x)
    return keys


def ordered_float_bits(x: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """float32 values as integers in ``[0, 2**32)`` in the same order, equal values equal (``-0.0 == 0.0``); no NaN."""
    bits = (np.asarray(x, dtype=np.float32) + np.float32(0.0)).view(np.int32).astype(np.int64)  # + 0: no -0.0
    ordered: npt.NDArray[np.int64] = np.where(bits < 0, -(bits & 0x7FFFFFFF), bits) + (1 << 31)
    return ordered


def _expand_ranges(
    lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each range ``[lo[q], hi[q])`` (empty if ``hi <= lo``): (q, value) for every value in it, q ascending."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    queries = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
    values = np.arange(total, dtype=np.int64) + np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return queries, values


def overlapping_pairs(
    group_a: npt.NDArray[np.int64], boxes_a: npt.NDArray[Any], group_b: npt.NDArray[np.int64], boxes_b: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Index pairs ``(i, j)`` of the same group whose xyxy boxes intersect with positive area, sorted by (i, j).

    Every pair with positive IoU and nothing else, without forming all pairs of
    a group (a frame of 20 x 20 boxes has 400 pairs, about 25 of which
    overlap). One sweep over both sets: the boxes with positive area, sorted
    by (group, x1) together, and of two boxes whose x-intervals overlap, the
    one later in that order starts inside the earlier one, in
    ``[x1, x2)``: a range of the sorted starts found by one binary search per
    box, whose members of the other set are a range of that set's sorted
    rows (counted with a running sum). Each intersecting pair is found
    exactly once; the y-overlap is checked on the candidates. Coordinates
    compare as float32 (the stores' type), exactly.
    """
    a32, b32 = np.asarray(boxes_a, dtype=np.float32), np.asarray(boxes_b, dtype=np.float32)
    rows_a = np.flatnonzero((a32[:, 2] > a32[:, 0]) & (a32[:, 3] > a32[:, 1]))  # no area: overlaps nothing
    rows_b = np.flatnonzero((b32[:, 2] > b32[:, 0]) & (b32[:, 3] > b32[:, 1]))
    num_a = len(rows_a)
    group = np.concatenate([group_a[rows_a], group_b[rows_b]])
    start = _ordered_keys(group, np.concatenate([a32[rows_a, 0], b32[rows_b, 0]]))
    end = _ordered_keys(group, np.concatenate([a32[rows_a, 2], b32[rows_b, 2]]))
    order = np.argsort(start, kind="stable")
    after = np.searchsorted(start[order], end[order], side="left")  # sorted positions whose start < this box's end
    is_b = order >= num_a
    b_before = np.zeros(len(order) + 1, dtype=np.int64)  # b boxes among the first p sorted positions
    np.cumsum(is_b, out=b_before[1:])
    a_before = np.arange(len(order) + 1, dtype=np.int64) - b_before
    position = np.arange(1, len(order) + 1)
    a_pos, b_pos = np.flatnonzero(~is_b), np.flatnonzero(is_b)
    # An a box meets the b boxes that start after it and before its end; a b box the a boxes likewise.
    q_a, b_rank = _expand_ranges(b_before[position[a_pos]], b_before[after[a_pos]])
    q_b, a_rank = _expand_ranges(a_before[position[b_pos]], a_before[after[b_pos]])
    sorted_a, sorted_b = order[a_pos], order[b_pos] - num_a
    ia = rows_a[np.concatenate([sorted_a[q_a], sorted_a[a_rank]])]
    jb = rows_b[np.concatenate([sorted_b[b_rank], sorted_b[q_b]])]
    overlap = np.maximum(a32[ia, 1], b32[jb, 1]) < np.minimum(a32[ia, 3], b32[jb, 3])
    ia, jb = ia[overlap], jb[overlap]
    order = np.argsort(ia * max(len(group_b), 1) + jb, kind="stable")
    return ia[order], jb[order]
