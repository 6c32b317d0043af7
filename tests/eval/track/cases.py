"""Small hand-made tracking cases shared by the metric tests."""

from __future__ import annotations

import numpy as np

from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns

A, B, C = [0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 110, 110]


def video_stores(frames_gt: list[dict[int, list[float]]], frames_pred: list[dict[int, list[float]]],
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
