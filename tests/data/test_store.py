from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vis4d.common.structures import FrameMeta, FrameOutput
from vis4d.data.store import (
    AnnotationStore,
    FrameRecord,
    build_store,
    concat_stores,
    empty_box_columns,
    select_videos,
)


def _frame(video: str, index: int, num_boxes: int, first_track: int = 0) -> FrameRecord:
    columns = empty_box_columns(num_boxes)
    columns["boxes"] = np.tile(np.array([0, 0, 10, 10], np.float32), (num_boxes, 1)) + index
    columns["track_ids"] = np.arange(first_track, first_track + num_boxes)
    return FrameRecord(f"{video}-{index}.jpg", video, index, f"/img/{video}/{index}.jpg", 64, 32, columns)


def _store() -> AnnotationStore:
    return build_store(
        ["car", "pedestrian"], [_frame("b", 1, 2), _frame("a", 0, 1), _frame("b", 0, 0), _frame("a", 1, 3)]
    )


def test_build_store_orders_videos_first_seen_frames_by_index() -> None:
    store = _store()
    assert list(store.video_names) == ["b", "a"]
    assert list(store.frame_names) == ["b-0.jpg", "b-1.jpg", "a-0.jpg", "a-1.jpg"]
    np.testing.assert_array_equal(store.video_offsets, [0, 2, 4])
    np.testing.assert_array_equal(store.box_offsets, [0, 0, 2, 3, 6])
    assert store.frame_boxes(1)["boxes"][0].tolist() == [1, 1, 11, 11]
    assert store.box_frame_ids().tolist() == [1, 1, 2, 3, 3, 3]
    assert store.frame_video_ids().tolist() == [0, 0, 1, 1]
    assert list(store.frame_range(1)) == [2, 3]


def test_save_load_round_trip(tmp_path: Path) -> None:
    store = _store()
    store.save(tmp_path / "s.npz")
    loaded = AnnotationStore.load(tmp_path / "s.npz")
    assert loaded.categories == store.categories
    for name in ("video_names", "video_offsets", "frame_names", "image_paths", "box_offsets", "boxes", "track_ids"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(store, name), err_msg=name)
        assert getattr(loaded, name).dtype == getattr(store, name).dtype


def test_validate_rejects_broken_columns() -> None:
    store = _store()
    store.class_ids = store.class_ids.copy()
    store.class_ids[0] = 5
    with pytest.raises(ValueError, match="class_ids"):
        store.validate()
    store = _store()
    store.track_ids = store.track_ids[:-1]
    with pytest.raises(ValueError, match="track_ids"):
        store.validate()


def test_concat_stores_shifts_offsets() -> None:
    joined = concat_stores([_store(), _store()])
    joined.validate()
    assert joined.num_videos == 4 and joined.num_frames == 8 and joined.num_boxes == 12
    np.testing.assert_array_equal(joined.box_offsets[4:], [6, 6, 8, 9, 12])
    with pytest.raises(ValueError, match="different categories"):
        concat_stores([_store(), build_store(["car"], [])])


def _three_frames() -> AnnotationStore:
    frames = []
    for i in range(3):
        cols = empty_box_columns(1)
        cols["boxes"][:] = [0, 0, 10, 10]
        frames.append(FrameRecord(f"f{i}", "v", i, f"/img/f{i}.jpg", 20, 20, cols))
    return build_store(["car"], frames)


def test_with_predictions_places_outputs_at_their_frame_rows() -> None:
    gt = _three_frames()

    def out(row: int, k: int) -> FrameOutput:
        meta = FrameMeta(f"f{row}", "v", row, "", (20, 20), (20, 20), frame_row=row)
        return FrameOutput(
            meta, np.full((k, 4), row, np.float32), np.full(k, 0.5, np.float32), np.zeros(k, np.int64), np.arange(k)
        )

    pred = gt.with_predictions([out(2, 2), out(0, 1)])
    assert pred.num_frames == 3 and pred.num_boxes == 3
    assert list(np.diff(pred.box_offsets)) == [1, 0, 2]
    assert pred.boxes[pred.box_slice(2)][:, 0].tolist() == [2.0, 2.0]
    assert pred.track_ids.tolist() == [0, 0, 1]


def test_select_videos_keeps_the_named_videos_in_store_order() -> None:
    store = _store()
    kept = select_videos(store, ["a", "missing"])
    kept.validate()
    assert list(kept.video_names) == ["a"] and list(kept.frame_names) == ["a-0.jpg", "a-1.jpg"]
    np.testing.assert_array_equal(kept.video_offsets, [0, 2])
    np.testing.assert_array_equal(kept.box_offsets, [0, 1, 4])
    assert kept.track_ids.tolist() == [0, 0, 1, 2] and kept.image_paths[1] == "/img/a/1.jpg"
    assert select_videos(store, ["a", "b"]) is store
