"""ByteTrack (Zhang et al., ECCV 2022): Kalman motion, IoU association of high and then low-score detections.

The algorithm is that of the reference tracker (ifzhang/ByteTrack,
``yolox/tracker/byte_tracker.py``), step for step, so that it gives the same
track ids on the same detections (a test checks it against the reference's
output). Per frame:

1. Detections split into high (score > ``track_thresh``) and low
   (``low_thresh`` < score < ``track_thresh``); others are ignored.
2. Activated tracks and lost tracks are predicted one frame ahead (a lost
   track's height velocity is zeroed first) and matched to the high
   detections on ``1 - IoU`` (times the detection score unless
   ``fuse_score`` is off: MOT20's setting), a pair only if its cost is below
   ``match_thresh``. Matched lost tracks are re-found with their old id.
3. Still-tracked tracks left over are matched to the low detections
   (plain ``1 - IoU`` below ``second_match_thresh``); those left after that
   are lost. Low detections never start tracks.
4. Tracks started in the previous frame (unconfirmed) get one chance to
   match a remaining high detection (below ``unconfirmed_match_thresh``),
   else they are removed; they are not motion-predicted.
5. Remaining high detections scoring at least ``new_track_thresh``
   (``track_thresh + 0.1`` by default) start tracks; a new track is output
   from its second frame on (in a video's first frame at once).
6. Lost tracks unseen for more than ``track_buffer * frame_rate / 30``
   frames are removed; a lost track on top of a tracked one (``1 - IoU``
   below ``duplicate_thresh``) is dropped unless it is strictly older.

Assignments are thresholded global optima: ``linear_sum_assignment`` on the
cost matrix extended with a ``threshold / 2`` cost for leaving a row or
column unmatched, which is what the reference's ``lap.lapjv(extend_cost=True,
cost_limit=...)`` solves. IoU counts both end pixels (``pixel_offset=1``) as
the reference's ``cython_bbox`` does. Reported boxes are the Kalman estimate
after the update (:attr:`ByteTrackGraph.output_boxes`), scores the detections'.
The graph counts frames itself (calls since :meth:`reset`), like the
reference; ids increase across videos and are never reused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from vis4d.config.schema import ByteTrackConfig
from vis4d.model.boxes import pairwise_iou
from vis4d.model.track import motion

TRACKED, LOST, REMOVED = 1, 2, 3
FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass
class _Track:
    """One track's Kalman state and bookkeeping (the reference's ``STrack``)."""

    track_id: int
    mean: FloatArray
    covariance: FloatArray
    score: float
    start_frame: int
    frame_id: int  # the last frame it took a detection
    state: int = TRACKED
    activated: bool = False
    det_index: int = -1  # the detection it took in the current frame

    @property
    def box(self) -> FloatArray:
        """(4,) corners from the Kalman mean."""
        corners: FloatArray = motion.xyah_to_xyxy(self.mean[None, :4])[0]
        return corners

    def take(self, box_xyah: FloatArray, score: float, frame_id: int, det_index: int) -> None:
        """Kalman update with a detection; the track is tracked and activated from now on."""
        self.mean, self.covariance = motion.update(self.mean, self.covariance, box_xyah)
        self.score, self.frame_id, self.det_index = score, frame_id, det_index
        self.state, self.activated = TRACKED, True


def assign(cost: FloatArray, threshold: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Matches (row, col) in row order with each cost below ``threshold``, unmatched rows, unmatched cols.

    The global optimum of the matrix extended by a ``threshold / 2`` cost for
    every unmatched row and column (``lap.lapjv(extend_cost=True)``).
    """
    rows, cols = cost.shape
    if cost.size == 0:
        return [], list(range(rows)), list(range(cols))
    extended = np.zeros((rows + cols, rows + cols))
    extended[:rows, :cols] = cost
    extended[:rows, cols:] = threshold / 2
    extended[rows:, :cols] = threshold / 2
    row_index, col_index = linear_sum_assignment(extended)
    match_of_row = np.full(rows, -1, dtype=np.int64)
    real = (row_index < rows) & (col_index < cols)
    match_of_row[row_index[real]] = col_index[real]
    matches = [(i, int(match_of_row[i])) for i in range(rows) if match_of_row[i] >= 0]
    matched_cols = {j for _, j in matches}
    return matches, [i for i in range(rows) if match_of_row[i] < 0], [j for j in range(cols) if j not in matched_cols]


def _joint(first: Iterable[_Track], second: Iterable[_Track]) -> list[_Track]:
    """``first`` followed by the tracks of ``second`` whose id it lacks."""
    out = list(first)
    ids = {track.track_id for track in out}
    return out + [track for track in second if track.track_id not in ids]


def _without(tracks: Iterable[_Track], ids: set[int]) -> list[_Track]:
    return [track for track in tracks if track.track_id not in ids]


class ByteTrackGraph:
    """Stateful ByteTrack association for one video at a time (see the module docstring)."""

    needs_embeddings = False

    def __init__(self, cfg: ByteTrackConfig) -> None:
        self.cfg = cfg
        self.next_id = 0
        self.new_track_thresh = cfg.new_track_thresh if cfg.new_track_thresh is not None else cfg.track_thresh + 0.1
        self.max_time_lost = int(cfg.frame_rate / 30.0 * cfg.track_buffer)
        self.output_boxes: Tensor | None = None
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (new video); ids keep increasing."""
        self.frame_id = 0
        self.tracked: list[_Track] = []
        self.lost: list[_Track] = []
        self.removed_ids: set[int] = set()

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool: detections at or below ``low_thresh`` take part in nothing."""
        return scores > self.cfg.low_thresh

    def _cost(self, tracks: Sequence[_Track], boxes: FloatArray, scores: FloatArray | None) -> FloatArray:
        """``1 - IoU`` of track boxes x detection boxes; with ``scores`` the reference's fused ``1 - IoU * score``."""
        if not tracks or len(boxes) == 0:
            return np.zeros((len(tracks), len(boxes)))
        track_boxes = np.stack([track.box for track in tracks])
        cost = np.asarray(1 - pairwise_iou(track_boxes, boxes, pixel_offset=self.cfg.pixel_offset), dtype=np.float64)
        if scores is not None:
            cost = 1 - (1 - cost) * scores[None, :]
        return cost

    def __call__(
        self, boxes: Tensor, scores: Tensor, class_ids: Tensor, embeddings: Tensor | None, frame_index: int
    ) -> Tensor:
        """Associate one frame's detections; returns (K,) int64 track ids, -1 = not output."""
        cfg = self.cfg
        self.frame_id += 1
        frame = self.frame_id
        given = boxes.detach().to("cpu", torch.float64).numpy().reshape(-1, 4)
        det_xyah = motion.xyxy_to_xyah(given)
        # The reference keeps (x1, y1, w, h) and rebuilds corners as x1 + w: the same up to the last bit.
        det_boxes = np.concatenate([given[:, :2], given[:, :2] + (given[:, 2:] - given[:, :2])], axis=1)
        det_scores = scores.detach().to("cpu", torch.float64).numpy().reshape(-1)
        high = np.flatnonzero(det_scores > cfg.track_thresh)
        low = np.flatnonzero((det_scores > cfg.low_thresh) & (det_scores < cfg.track_thresh))
        fuse = det_scores if cfg.fuse_score else None

        def take(track: _Track, det: int) -> None:
            track.take(det_xyah[det], float(det_scores[det]), frame, int(det))

        unconfirmed = [t for t in self.tracked if not t.activated]
        pool = _joint([t for t in self.tracked if t.activated], self.lost)
        self._predict(pool)
        activated: list[_Track] = []
        refound: list[_Track] = []
        # First association: tracks and lost tracks with the high detections.
        cost = self._cost(pool, det_boxes[high], None if fuse is None else fuse[high])
        matches, free_pool, free_high = assign(cost, cfg.match_thresh)
        for i, j in matches:
            (activated if pool[i].state == TRACKED else refound).append(pool[i])
            take(pool[i], high[j])
        # Second association: the still-tracked leftovers with the low detections.
        remaining = [pool[i] for i in free_pool if pool[i].state == TRACKED]
        matches, free_remaining, _ = assign(self._cost(remaining, det_boxes[low], None), cfg.second_match_thresh)
        for i, j in matches:
            take(remaining[i], low[j])
            activated.append(remaining[i])
        newly_lost = [remaining[i] for i in free_remaining]
        for track in newly_lost:
            track.state = LOST
        # Unconfirmed tracks: one chance against the high detections left.
        rest = high[free_high]
        cost = self._cost(unconfirmed, det_boxes[rest], None if fuse is None else fuse[rest])
        matches, free_unconfirmed, free_rest = assign(cost, cfg.unconfirmed_match_thresh)
        for i, j in matches:
            take(unconfirmed[i], rest[j])
            activated.append(unconfirmed[i])
        removed = [unconfirmed[i] for i in free_unconfirmed]
        activated += self._start_tracks([int(rest[j]) for j in free_rest], det_xyah, det_scores)
        removed += [t for t in self.lost if frame - t.frame_id > self.max_time_lost]
        for track in removed:
            track.state = REMOVED
        self._update_lists(activated, refound, newly_lost, removed)
        return self._outputs(len(det_boxes), boxes)

    def _predict(self, tracks: Sequence[_Track]) -> None:
        """One Kalman step for every track of the pool at once; non-tracked ones lose their height velocity."""
        if not tracks:
            return
        means = np.asarray([t.mean.copy() for t in tracks])
        for row, track in enumerate(tracks):
            if track.state != TRACKED:
                means[row][7] = 0
        means, covariances = motion.predict(means, np.asarray([t.covariance for t in tracks]))
        for track, mean, covariance in zip(tracks, means, covariances, strict=True):
            track.mean, track.covariance = mean, covariance

    def _start_tracks(self, dets: Sequence[int], det_xyah: FloatArray, det_scores: FloatArray) -> list[_Track]:
        """New tracks from detections scoring at least ``new_track_thresh``, ids in detection order."""
        started = []
        for det in dets:
            if det_scores[det] < self.new_track_thresh:
                continue
            mean, covariance = motion.initiate(det_xyah[det])
            track = _Track(self.next_id, mean, covariance, float(det_scores[det]), self.frame_id, self.frame_id)
            track.activated, track.det_index = self.frame_id == 1, det
            self.next_id += 1
            started.append(track)
        return started

    def _update_lists(
        self, activated: list[_Track], refound: list[_Track], newly_lost: list[_Track], removed: list[_Track]
    ) -> None:
        """The reference's list updates, in its order (the old removed ids filter the lost list)."""
        tracked = _joint(_joint([t for t in self.tracked if t.state == TRACKED], activated), refound)
        lost = _without(self.lost, {t.track_id for t in tracked}) + newly_lost
        lost = _without(lost, self.removed_ids)
        self.removed_ids |= {t.track_id for t in removed}
        self.tracked, self.lost = self._drop_duplicates(tracked, lost)

    def _drop_duplicates(self, tracked: list[_Track], lost: list[_Track]) -> tuple[list[_Track], list[_Track]]:
        """A lost track on top of a tracked one (``1 - IoU`` < ``duplicate_thresh``): the younger of the two goes."""
        if not tracked or not lost:
            return tracked, lost
        distance = self._cost(tracked, np.stack([t.box for t in lost]), None)
        drop_tracked: set[int] = set()
        drop_lost: set[int] = set()
        for p, q in zip(*np.nonzero(distance < self.cfg.duplicate_thresh), strict=True):
            age_p = tracked[p].frame_id - tracked[p].start_frame
            age_q = lost[q].frame_id - lost[q].start_frame
            (drop_lost if age_p > age_q else drop_tracked).add(int(q if age_p > age_q else p))
        return (
            [t for i, t in enumerate(tracked) if i not in drop_tracked],
            [t for i, t in enumerate(lost) if i not in drop_lost],
        )

    def _outputs(self, num_dets: int, boxes: Tensor) -> Tensor:
        """Ids per detection (the output tracks' detections of this frame) and their Kalman boxes."""
        ids = np.full(num_dets, -1, dtype=np.int64)
        refined = np.zeros((num_dets, 4))
        for track in self.tracked:
            if track.activated and track.frame_id == self.frame_id:
                ids[track.det_index] = track.track_id
                refined[track.det_index] = track.box
        self.output_boxes = torch.from_numpy(refined).to(boxes.device, torch.float32)
        return torch.from_numpy(ids).to(boxes.device)
