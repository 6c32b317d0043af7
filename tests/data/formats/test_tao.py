"""TAO / COCO-style video files: videos, frame order, track ids, merged categories, TAO's conventions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vis4d.data.formats import detect_format, get_format
from vis4d.data.formats.base import LabelOptions, ReadRequest


def test_tao_files_become_videos_with_tracks(tmp_path: Path) -> None:
    gt = {
        "videos": [{"id": 7, "name": "v/a"}, {"id": 8, "name": "v/b"}],
        "images": [{"id": 2, "video_id": 7, "frame_index": 1, "file_name": "a1.jpg"},
                   {"id": 1, "video_id": 7, "frame_index": 0, "file_name": "a0.jpg"},
                   {"id": 3, "video_id": 8, "frame_index": 0, "file_name": "b0.jpg"}],
        "categories": [{"id": 5, "name": "car"}, {"id": 6, "name": "auto", "merged": [{"id": 9}]}],
        "annotations": [{"id": 1, "image_id": 2, "category_id": 5, "track_id": 40, "bbox": [0, 0, 10, 10]},
                        {"id": 2, "image_id": 3, "category_id": 9, "track_id": 41, "bbox": [1, 2, 3, 4]}],
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    preds = tmp_path / "pred.json"
    preds.write_text(json.dumps([{"image_id": 1, "category_id": 5, "track_id": 3, "bbox": [0, 0, 5, 5], "score": 0.5}]))
    assert detect_format(path) == "tao"
    fmt = get_format("tao")
    store = fmt.read(ReadRequest(path, LabelOptions()))  # type: ignore[misc]
    assert list(store.video_names) == ["v/a", "v/b"] and list(store.frame_names) == ["a0.jpg", "a1.jpg", "b0.jpg"]
    assert store.track_ids.tolist() == [40, 41] and np.allclose(store.boxes[1], [1, 2, 4, 6])
    assert [store.categories[c] for c in store.class_ids] == ["car", "auto"]  # category 9 merged into "auto"
    pred = fmt.read(ReadRequest(path, LabelOptions(categories=list(store.categories)), predictions=preds))  # type: ignore[misc]
    assert pred.track_ids.tolist() == [3] and pred.box_frame_ids().tolist() == [0]
    assert not fmt.exhaustive_labels and fmt.annotated_frames_only
