"""ByteTrack (Zhang et al., ECCV 2022): Kalman motion, IoU association of high and then low-score detections.

The algorithm is that of the reference tracker (ifzhang/ByteTrack,
``yolox/tracker/byte_tracker.py``), step for step, so that it gives the same
track ids on the same detections (a test checks it against the reference's
output). Per frame:

1. Detections split into high (score > ``track_high_thresh``) and low
   (``track_low_thresh`` < score < ``track_high_thresh``); others are ignored.
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
   (``track_high_thresh + 0.1`` by default) start tracks; a new track is
   output from its second frame on (in a video's first frame at once).
6. Lost tracks unseen for more than ``track_buffer * frame_rate / 30``
   frames are removed; a lost track on top of a tracked one (``1 - IoU``
   below ``duplicate_thresh``) is dropped unless it is strictly older.

The reference keeps three Python lists (tracked, lost, removed); here the
tracks are rows of the kit's track store, the list a track is on a column,
and the rows are kept in the reference's list order (tracked list, then lost
list) so that even the order of rows in every cost matrix is the reference's.
One quirk of the reference is kept on purpose: a lost track removed for age
stays on the lost list until the end of the next frame, and can be re-found
then (the README of the test fixture has the details).

Assignments are thresholded global optima (:func:`vis4d.model.track.matching.assign`,
what the reference's ``lap.lapjv(extend_cost=True, cost_limit=...)`` solves).
IoU counts both end pixels (``pixel_offset=1``) as the reference's
``cython_bbox`` does. Reported boxes are the Kalman estimate after the update
(``output_boxes``), scores the detections'. BoT-SORT
(:mod:`vis4d.model.track.graphs.botsort`) is this tracker with other motion
coordinates, camera motion and appearance.
"""

from __future__ import annotations

import numpy as np

from vis4d.model.track import matching
from vis4d.model.track.graphs.base import Association, Detections, FloatArray, IntArray, MotionTracker
from vis4d.model.track.motion import BoxKalman
from vis4d.model.track.store import Column

TRACKED, LOST, REMOVED = 1, 2, 3  # a track's state
ON_TRACKED, ON_LOST, GONE = 0, 1, 2  # the list a track is on


def assign(cost: FloatArray, threshold: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Matches (row, col) in row order with each cost below ``threshold``, unmatched rows, unmatched cols.

    :func:`vis4d.model.track.matching.assign` as lists (the reference's ``linear_assignment``).
    """
    rows, cols, free_rows, free_cols = matching.assign(cost, threshold)
    return list(zip(rows.tolist(), cols.tolist(), strict=True)), free_rows.tolist(), free_cols.tolist()


class ByteTrackGraph(MotionTracker):
    """Stateful ByteTrack association for one video at a time (see the module docstring)."""

    kalman_state = "xyah"
    lost_velocity: tuple[int, ...] = (7,)  # velocity entries a lost track's prediction zeroes first
    output_unconfirmed = False  # whether tracks in their first frame are output

    def __init__(self, cfg: object) -> None:
        self.kalman = BoxKalman(self.kalman_state)  # type: ignore[arg-type]
        super().__init__(cfg)
        high = self.cfg.track_high_thresh
        self.new_track_thresh = self.cfg.new_track_thresh if self.cfg.new_track_thresh is not None else high + 0.1
        self.max_time_lost = int(self.cfg.frame_rate / 30.0 * self.cfg.track_buffer)
        self._lists = np.zeros(0, dtype=np.int8)  # the lists at the frame's start
        self._pool = self._unconfirmed = np.zeros(0, dtype=np.int64)
        self._removed_now = np.zeros(0, dtype=bool)

    def columns(self) -> dict[str, Column]:
        """Kalman state, bookkeeping of the reference's ``STrack`` and the list each track is on."""
        return {
            "id": Column(dtype=np.int64),
            "mean": Column((8,)),
            "cov": Column((8, 8)),
            "score": Column(),
            "state": Column(dtype=np.int8, default=TRACKED),
            "activated": Column(dtype=np.bool_, default=False),
            "start_frame": Column(dtype=np.int64),
            "last_frame": Column(dtype=np.int64),  # the last frame the track took a detection
            "det": Column(dtype=np.int64, default=-1),  # the detection it took in the current frame
            "list": Column(dtype=np.int8, default=ON_TRACKED),
            "removed_once": Column(dtype=np.bool_, default=False),  # its id is on the reference's removed list
        }

    def track_boxes(self, rows: IntArray) -> FloatArray:
        """Corners of the Kalman means."""
        return self.kalman.to_corners(self.store["mean"][rows])

    def iou_distance(self, rows: IntArray, dets: Detections) -> FloatArray:
        """``1 - IoU`` of track boxes x detection boxes, with the configured pixel offset."""
        return 1.0 - matching.iou(self.track_boxes(rows), dets.boxes, self.cfg.pixel_offset)

    def distances(self, rows: IntArray, dets: Detections) -> FloatArray:
        """The first and the unconfirmed association's cost: ``1 - IoU``, fused with the score unless MOT20."""
        cost = self.iou_distance(rows, dets)
        return matching.fuse_score(cost, dets.scores) if self.cfg.fuse_score and cost.size else cost

    def predict(self) -> None:
        """Activated and lost tracks (the pool) one frame ahead; lost ones lose their size velocity first."""
        store = self.store
        store["det"][:] = -1
        self._lists = store["list"].copy()
        self._removed_now = np.zeros(len(store), dtype=bool)
        on_tracked = self._lists == ON_TRACKED
        self._unconfirmed = np.flatnonzero(on_tracked & ~store["activated"])
        self._pool = np.concatenate([np.flatnonzero(on_tracked & store["activated"]), np.flatnonzero(~on_tracked)])
        means = store["mean"][self._pool]
        means[np.ix_(store["state"][self._pool] != TRACKED, list(self.lost_velocity))] = 0
        store["mean"][self._pool], store["cov"][self._pool] = self.kalman.predict(means, store["cov"][self._pool])

    def associate(self, dets: Detections) -> Association:
        """High detections with the pool, low ones with still-tracked leftovers, then unconfirmed tracks."""
        cfg, pool, unconfirmed = self.cfg, self._pool, self._unconfirmed
        high = np.flatnonzero(dets.scores > cfg.track_high_thresh)
        low = np.flatnonzero((dets.scores > cfg.track_low_thresh) & (dets.scores < cfg.track_high_thresh))
        rows, cols, free_pool, free_high = self.match(self.distances(pool, dets.select(high)), cfg.match_thresh)
        parts = [(high[cols], pool[rows])]
        remaining = pool[free_pool][self.store["state"][pool[free_pool]] == TRACKED]
        rows, cols, _, _ = self.match(self.iou_distance(remaining, dets.select(low)), cfg.second_match_thresh)
        parts.append((low[cols], remaining[rows]))
        rest = high[free_high]
        cost = self.distances(unconfirmed, dets.select(rest))
        rows, cols, _, free_rest = self.match(cost, cfg.unconfirmed_match_thresh)
        parts.append((rest[cols], unconfirmed[rows]))
        return Association.concat(parts, rest[free_rest])

    def update(self, rows: IntArray, dets: Detections) -> None:
        """Kalman update with the detections; the tracks are tracked and activated from now on."""
        store = self.store
        measured = self.kalman.to_state(dets.boxes)
        store["mean"][rows], store["cov"][rows] = self.kalman.update(store["mean"][rows], store["cov"][rows], measured)
        store["score"][rows] = dets.scores
        store["last_frame"][rows] = self.frame_id
        store["det"][rows] = dets.index
        store["state"][rows] = TRACKED
        store["activated"][rows] = True

    def mark_missed(self, rows: IntArray) -> None:
        """Unmatched unconfirmed tracks are removed, unmatched tracked ones lost (lost ones stay lost)."""
        store = self.store
        unconfirmed = (self._lists[rows] == ON_TRACKED) & ~store["activated"][rows]
        store["state"][rows[unconfirmed]] = REMOVED
        self._removed_now[rows[unconfirmed]] = True
        tracked = (self._lists[rows] == ON_TRACKED) & store["activated"][rows] & (store["state"][rows] == TRACKED)
        store["state"][rows[tracked]] = LOST

    def spawn(self, dets: Detections) -> None:
        """New tracks from detections scoring at least ``new_track_thresh``, ids in detection order."""
        dets = dets.select(dets.scores >= self.new_track_thresh)
        self.store.append(len(dets), **self.new_track_columns(dets))

    def new_track_columns(self, dets: Detections) -> dict[str, FloatArray | IntArray | float | int | bool]:
        """The columns of tracks started from ``dets``."""
        means, covariances = self.kalman.initiate(self.kalman.to_state(dets.boxes))
        frame = self.frame_id
        return {
            "id": self.new_ids(len(dets)), "mean": means, "cov": covariances, "score": dets.scores,
            "activated": frame == 1, "start_frame": frame, "last_frame": frame, "det": dets.index,
        }  # fmt: skip

    def finish(self, dets: Detections) -> tuple[IntArray, FloatArray | None]:
        """Expire lost tracks, update the lists in the reference's order, drop duplicates, output."""
        self._update_lists()
        self._drop_duplicates()
        store = self.store
        output = store["list"] == ON_TRACKED
        if not self.output_unconfirmed:
            output &= store["activated"]
        rows = np.flatnonzero(output & (store["det"] >= 0))
        ids = np.full(len(dets), -1, dtype=np.int64)
        boxes = np.array(dets.boxes, copy=True)
        ids[store["det"][rows]] = store["id"][rows]
        boxes[store["det"][rows]] = self.track_boxes(rows)
        return ids, boxes

    def _update_lists(self) -> None:
        """The reference's list updates: tracked = kept + new + re-found, lost = old lost + newly lost - removed."""
        store, lists = self.store, self._lists
        old = np.arange(len(store)) < len(lists)
        was = np.full(len(store), GONE, dtype=np.int8)
        was[: len(lists)] = lists
        expired = (was == ON_LOST) & (self.frame_id - store["last_frame"] > self.max_time_lost)
        store["state"][expired] = REMOVED
        removed_now = expired
        removed_now[: len(lists)] |= self._removed_now
        tracked = store["state"] == TRACKED
        new_list = np.full(len(store), GONE, dtype=np.int8)
        group = np.zeros(len(store), dtype=np.int8)  # order within a list: kept, then new, then re-found
        new_list[((was == ON_TRACKED) & tracked) | ~old] = ON_TRACKED
        group[~old] = 1
        refound = (was == ON_LOST) & tracked
        new_list[refound], group[refound] = ON_TRACKED, 2
        newly_lost = (was == ON_TRACKED) & (store["state"] == LOST)
        stay_lost = (was == ON_LOST) & ~tracked
        new_list[(stay_lost | newly_lost) & ~store["removed_once"]] = ON_LOST
        group[newly_lost] = 1
        store["removed_once"] |= removed_now
        store["list"] = new_list
        keep = np.flatnonzero(new_list != GONE)
        store.keep(keep[np.lexsort((keep, group[keep], new_list[keep]))])

    def _drop_duplicates(self) -> None:
        """A lost track on top of a tracked one (``1 - IoU`` < ``duplicate_thresh``): the younger of the two goes."""
        store = self.store
        tracked, lost = np.flatnonzero(store["list"] == ON_TRACKED), np.flatnonzero(store["list"] == ON_LOST)
        if len(tracked) == 0 or len(lost) == 0:
            return
        boxes = self.track_boxes(lost)
        distance = 1.0 - matching.iou(self.track_boxes(tracked), boxes, self.cfg.pixel_offset)
        pairs_t, pairs_l = np.nonzero(distance < self.cfg.duplicate_thresh)
        if len(pairs_t) == 0:
            return
        age = store["last_frame"] - store["start_frame"]
        older_tracked = age[tracked[pairs_t]] > age[lost[pairs_l]]
        drop = np.concatenate([lost[pairs_l[older_tracked]], tracked[pairs_t[~older_tracked]]])
        keep = np.ones(len(store), dtype=bool)
        keep[drop] = False
        store.keep(keep)
