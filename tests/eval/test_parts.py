"""Scoring a dataset in parts of whole videos (threads) gives exactly the numbers of scoring it whole."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import vis4d.eval.accumulate
import vis4d.eval.detect
import vis4d.eval.track
from tests.eval.reference import BDD_CLASSES, BDD_SUPER, random_detection, random_tracking
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.parts import frame_slice, run_threads, video_parts
from vis4d.eval.track import evaluate_tracking

ALL = ["clear", "identity", "hota", "teta"]


def _forced(monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    for module in (vis4d.eval.track, vis4d.eval.detect, vis4d.eval.accumulate):
        monkeypatch.setattr(module, "part_count", lambda num_boxes: parts)


@pytest.mark.parametrize(("seed", "parts"), [(0, 2), (1, 3), (2, 7)])
def test_tracking_in_parts_equals_whole(monkeypatch: pytest.MonkeyPatch, seed: int, parts: int) -> None:
    gt, pred = random_tracking(seed, categories=BDD_CLASSES, num_videos=6, num_tracks=25, ignore_rate=0.1,
                               crowd_rate=0.5)  # fmt: skip
    _forced(monkeypatch, 1)
    whole = evaluate_tracking(gt, pred, metrics=ALL, super_categories=BDD_SUPER, per_video=True)
    _forced(monkeypatch, parts)
    assert len(video_parts(gt, pred, np.arange(pred.num_frames), parts)) > 1
    split = evaluate_tracking(gt, pred, metrics=ALL, super_categories=BDD_SUPER, per_video=True)
    assert split == whole  # bit for bit: no statistic crosses a video


def test_tracking_parts_with_videos_without_predictions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Predictions may omit whole videos (a part then has none), and frames; rows still map to the right frames."""
    gt, pred = random_tracking(3, num_videos=5, num_tracks=15)
    video_of_frame = pred.video_names[pred.frame_video_ids()]
    pred = _frames(pred, np.flatnonzero(video_of_frame != gt.video_names[2]))
    _forced(monkeypatch, 1)
    whole = evaluate_tracking(gt, pred, metrics=ALL)
    _forced(monkeypatch, 4)
    assert evaluate_tracking(gt, pred, metrics=ALL) == whole


def _frames(store, rows: np.ndarray):  # type: ignore[no-untyped-def]
    """A store of some frames (in the given order), their boxes along."""
    starts, stops = store.box_offsets[rows], store.box_offsets[rows + 1]
    box_rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)]).astype(np.int64)
    counts = stops - starts
    fields = {name: getattr(store, name)[box_rows] for name in
              ("boxes", "class_ids", "track_ids", "scores", "crowd", "ignore", "occluded", "truncated")}  # fmt: skip
    frames = {name: getattr(store, name)[rows] for name in
              ("frame_names", "image_paths", "frame_index", "widths", "heights", "image_ids")}  # fmt: skip
    videos = store.frame_video_ids()[rows]
    uniques, first = np.unique(videos, return_index=True)
    order = uniques[np.argsort(first)]
    return dataclasses.replace(
        store, video_names=store.video_names[order],
        video_offsets=np.concatenate([[0], np.cumsum([np.sum(videos == v) for v in order])]).astype(np.int64),
        box_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), **fields, **frames,
    )  # fmt: skip


def test_predictions_out_of_order_are_scored_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    gt, pred = random_tracking(4, num_videos=3)
    shuffled = _frames(pred, np.arange(pred.num_frames)[::-1].copy())
    assert len(video_parts(gt, shuffled, np.arange(pred.num_frames)[::-1].copy(), 3)) == 1
    _forced(monkeypatch, 3)
    assert evaluate_tracking(gt, shuffled, metrics=ALL) == evaluate_tracking(gt, pred, metrics=ALL)


@pytest.mark.parametrize(("seed", "parts"), [(0, 2), (1, 5)])
def test_detection_in_parts_equals_whole(monkeypatch: pytest.MonkeyPatch, seed: int, parts: int) -> None:
    gt, pred = random_detection(seed, num_images=40)
    _forced(monkeypatch, 1)
    whole = evaluate_detection(gt, pred)
    _forced(monkeypatch, parts)
    assert evaluate_detection(gt, pred) == whole


def test_frame_slice_keeps_whole_videos_and_their_boxes() -> None:
    gt, _ = random_tracking(5, num_videos=4)
    f0, f1 = int(gt.video_offsets[1]), int(gt.video_offsets[3])
    part = frame_slice(gt, f0, f1, (1, 3))
    part.validate()
    assert part.video_names.tolist() == gt.video_names[1:3].tolist()
    assert np.array_equal(part.boxes, gt.boxes[gt.box_offsets[f0] : gt.box_offsets[f1]])
    cut = frame_slice(gt, f0 + 1, f1 - 1)  # inside videos: cut at the ends
    cut.validate()
    assert cut.num_frames == f1 - f0 - 2 and cut.num_videos == 2


def test_run_threads_keeps_order() -> None:
    assert run_threads(lambda x: x * x, list(range(9)), 3) == [x * x for x in range(9)]
    assert run_threads(lambda x: -x, [4]) == [-4]
