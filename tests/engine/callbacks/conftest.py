"""A tiny ground-truth store and the frame outputs that reproduce it, for the callback tests."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

from vis4d.common.structures import FrameMeta, FrameOutput
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns

CATEGORIES = ("car", "pedestrian")


def ground_truth() -> AnnotationStore:
    """Two videos of three frames, two tracks each, moving right by 5 px per frame."""
    records = []
    for video in ("a", "b"):
        for t in range(3):
            cols = empty_box_columns(2)
            cols["boxes"] = np.array([[10 + 5 * t, 10, 40 + 5 * t, 50], [100, 20 + 5 * t, 130, 60 + 5 * t]], np.float32)
            cols["class_ids"] = np.array([0, 1])
            cols["track_ids"] = np.array([1, 2])
            records.append(FrameRecord(f"{video}-{t}.jpg", video, t, f"/img/{video}-{t}.jpg", 200, 100, cols))
    return build_store(CATEGORIES, records)


def outputs_of(store: AnnotationStore, with_tracks: bool = True) -> list[FrameOutput]:
    """One output per frame holding exactly the store's boxes (score 0.9)."""
    video_of_frame = store.frame_video_ids()
    outputs = []
    for row in range(store.num_frames):
        sl = store.box_slice(row)
        meta = FrameMeta(
            str(store.frame_names[row]), str(store.video_names[video_of_frame[row]]), int(store.frame_index[row]),
            str(store.image_paths[row]), (100, 200), (100, 200), frame_row=row,
        )  # fmt: skip
        tracks = store.track_ids[sl] + 100 * int(video_of_frame[row]) if with_tracks else None
        outputs.append(FrameOutput(meta, store.boxes[sl], np.full(sl.stop - sl.start, 0.9, np.float32),
                                   store.class_ids[sl], tracks))  # fmt: skip
    return outputs


@pytest.fixture()
def fake_trainer() -> Any:
    """What the callbacks read of a single-process Lightning trainer."""
    return types.SimpleNamespace(
        world_size=1, global_rank=0, is_global_zero=True, sanity_checking=False, current_epoch=0, global_step=0
    )
