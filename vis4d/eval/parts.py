"""Split an evaluation into independent parts by video, to score them in threads.

Every tracking statistic is per sequence (one video and class): tracks,
frame pairs, matches and their counts never cross a video. A dataset can
therefore be cut at a video boundary and each part scored on its own, the
per-sequence results concatenated in video order: the same numbers, down to
the order of every floating-point sum within a sequence. The work is numpy
and SciPy calls, which release the GIL, so on two cores two parts take about
half the time.

:func:`video_parts` cuts the ground truth at video boundaries (balancing the
boxes) and the predictions at the matching frames; it needs the prediction
frames in ground-truth order (as stores are written and loaded), and leaves
inputs that are small, or not in that order, whole.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from vis4d.data.store import BOX_FIELDS, FRAME_FIELDS, AnnotationStore

R = TypeVar("R")
T = TypeVar("T")

MIN_BOXES_PER_PART = 50_000  # smaller inputs are not split: a thread costs more than it saves
MAX_PARTS = 4


@dataclasses.dataclass(frozen=True)
class Part:
    """One part: the ground truth of some whole videos, the predictions of their frames, and their frame rows."""

    gt: AnnotationStore
    pred: AnnotationStore
    frame_rows: npt.NDArray[np.int64]  # ground-truth frame row (within the part) of each prediction frame


def frame_slice(
    store: AnnotationStore, start: int, stop: int, videos: tuple[int, int] | None = None
) -> AnnotationStore:
    """Frames ``[start, stop)`` of a store and their boxes (views, no copies).

    ``videos``: the part is exactly these videos (``start``/``stop`` their
    frames); otherwise the videos the frames fall in, cut at the ends.
    """
    first_box, last_box = int(store.box_offsets[start]), int(store.box_offsets[stop])
    if videos is None:
        v_start = int(np.searchsorted(store.video_offsets, start, side="right")) - 1
        videos = (v_start, max(int(np.searchsorted(store.video_offsets, stop, side="left")), v_start + 1))
    offsets = np.clip(store.video_offsets[videos[0] : videos[1] + 1], start, stop) - start
    return dataclasses.replace(
        store,
        video_names=store.video_names[videos[0] : videos[1]],
        video_offsets=offsets.astype(np.int64),
        box_offsets=store.box_offsets[start : stop + 1] - first_box,
        **{name: getattr(store, name)[start:stop] for name in FRAME_FIELDS},
        **{name: getattr(store, name)[first_box:last_box] for name in BOX_FIELDS},
    )


def part_count(num_boxes: int) -> int:
    """How many parts to score in parallel: one per available processor, at most 4, each with enough boxes."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(available, MAX_PARTS, num_boxes // MIN_BOXES_PER_PART))


def video_parts(
    gt: AnnotationStore, pred: AnnotationStore, frame_rows: npt.NDArray[np.int64], parts: int
) -> list[Part]:
    """``gt``/``pred`` cut into up to ``parts`` parts of whole videos with about equal numbers of boxes."""
    whole = [Part(gt, pred, frame_rows)]
    if parts < 2 or gt.num_videos < 2 or (len(frame_rows) > 1 and (np.diff(frame_rows) < 0).any()):
        return whole
    video_boxes = gt.box_offsets[gt.video_offsets]  # boxes before each video (and the total)
    targets = video_boxes[-1] * np.arange(1, parts) / parts
    cuts = [0, *np.unique(np.searchsorted(video_boxes, targets).clip(1, gt.num_videos - 1)).tolist(), gt.num_videos]
    frame_cuts = gt.video_offsets[cuts].tolist()
    pred_cuts = np.searchsorted(frame_rows, frame_cuts).tolist()
    return [
        Part(frame_slice(gt, f0, f1, (v0, v1)), frame_slice(pred, p0, p1), frame_rows[p0:p1] - f0)
        for v0, v1, f0, f1, p0, p1 in zip(
            cuts[:-1], cuts[1:], frame_cuts[:-1], frame_cuts[1:], pred_cuts[:-1], pred_cuts[1:], strict=True
        )  # fmt: skip
    ]


def run_threads(work: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """``[work(item) for item in items]`` in ``workers`` threads (default: one per item) when there are several."""
    workers = len(items) if workers is None else min(workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))
