from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.data.datasets.loader_helpers import COCO_INSTANCES, write_json
from vis4d.common.errors import DataError, MissingScoreError
from vis4d.data.datasets import load_coco
from vis4d.data.mapping import LoadOptions


def _instances() -> dict[str, Any]:
    return json.loads(COCO_INSTANCES.read_text())


def test_coco_sample_counts_boxes_and_sizes(tmp_path: Path) -> None:
    data = _instances()
    store = load_coco(COCO_INSTANCES, None, tmp_path)
    assert store.num_videos == 2 and store.num_frames == 2 and store.num_boxes == 33
    assert list(store.frame_names) == ["000000397133.jpg", "000000037777.jpg"]  # file order
    np.testing.assert_array_equal(store.video_names, store.frame_names)
    assert store.widths.tolist() == [640, 352] and store.heights.tolist() == [427, 230]
    assert store.image_paths[1] == str(tmp_path.resolve() / "000000037777.jpg")
    # Exact xywh -> xyxy of every annotation, grouped by image in file order.
    names = {c["id"]: c["name"] for c in data["categories"]}
    by_image = {397133: [], 37777: []}  # type: dict[int, list[dict[str, Any]]]
    for ann in data["annotations"]:
        by_image[ann["image_id"]].append(ann)
    ordered = by_image[397133] + by_image[37777]
    expected = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in ordered)], dtype=np.float32)
    np.testing.assert_array_equal(store.boxes, expected)
    assert [store.categories[c] for c in store.class_ids] == [names[a["category_id"]] for a in ordered]
    assert np.diff(store.box_offsets).tolist() == [len(by_image[397133]), len(by_image[37777])]
    assert (store.track_ids == -1).all() and not store.crowd.any()


def test_coco_crowd_and_category_mapping(tmp_path: Path) -> None:
    data = _instances()
    data["annotations"][0]["iscrowd"] = 1
    path = write_json(tmp_path / "i.json", data)
    first_name = next(c["name"] for c in data["categories"] if c["id"] == data["annotations"][0]["category_id"])
    all_names = sorted(
        {c["name"] for c in data["categories"] if c["id"] in {a["category_id"] for a in data["annotations"]}}
    )
    store = load_coco(path, ["thing"], options=LoadOptions(name_mapping={n: "thing" for n in all_names}))
    assert store.categories == ("thing",) and store.num_boxes == 33
    assert store.crowd.sum() == 1 and store.ignore.sum() == 1
    with pytest.raises(DataError, match="unknown categor"):
        load_coco(path, [first_name])


def test_coco_results_with_scores(tmp_path: Path) -> None:
    data = _instances()
    car = data["categories"][2]  # any category
    results = [
        {"image_id": 37777, "category_id": car["id"], "bbox": [1, 2, 3, 4], "score": 0.5},
        {"image_id": 397133, "category_id": car["id"], "bbox": [0, 0, 10, 10], "score": 0.9},
    ]
    store = load_coco(COCO_INSTANCES, results=write_json(tmp_path / "r.json", results))
    assert store.num_frames == 2 and store.num_boxes == 2
    np.testing.assert_allclose(store.scores, [0.9, 0.5])  # grouped by image (file order of images)
    np.testing.assert_array_equal(store.boxes[1], [1, 2, 4, 6])
    assert store.categories == (car["name"],)


def test_coco_results_errors(tmp_path: Path) -> None:
    bad_image = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]
    with pytest.raises(DataError, match=r"r\.json: result 0: image_id 1 is not in"):
        load_coco(COCO_INSTANCES, results=write_json(tmp_path / "r.json", bad_image))
    no_score = [{"image_id": 37777, "category_id": 1, "bbox": [0, 0, 1, 1]}]
    with pytest.raises(MissingScoreError, match=r"result 0: prediction without a 'score'"):
        load_coco(COCO_INSTANCES, results=write_json(tmp_path / "s.json", no_score))
    assumed = load_coco(COCO_INSTANCES, results=tmp_path / "s.json", options=LoadOptions(assume_missing_scores=True))
    np.testing.assert_array_equal(assumed.scores, [1.0])
    null_score = [{"image_id": 37777, "category_id": 1, "bbox": [0, 0, 1, 1], "score": None}]
    with pytest.raises(MissingScoreError, match=r"result 0: prediction without a 'score'"):
        load_coco(COCO_INSTANCES, results=write_json(tmp_path / "n.json", null_score))
    text_score = [{"image_id": 37777, "category_id": 1, "bbox": [0, 0, 1, 1], "score": "high"}]
    with pytest.raises(DataError, match=r"result 0: 'score' must be a number"):
        load_coco(COCO_INSTANCES, results=write_json(tmp_path / "t.json", text_score))
    with pytest.raises(DataError, match="results not found"):
        load_coco(COCO_INSTANCES, results=tmp_path / "missing.json")


def test_coco_degenerate_and_malformed(tmp_path: Path) -> None:
    data = _instances()
    data["annotations"][3]["bbox"] = [10, 10, -5, 3]
    path = write_json(tmp_path / "i.json", data)
    with pytest.raises(DataError, match=r"frame '000000\d+\.jpg' annotation 3: box has"):
        load_coco(path, options=LoadOptions(on_degenerate_box="fail"))
    assert load_coco(path).num_boxes == 32
    data["annotations"][5]["bbox"] = [1, 2, 3]
    with pytest.raises(DataError, match=r"annotation 5: 'bbox' must be \[x, y, w, h\]"):
        load_coco(write_json(tmp_path / "j.json", data))
    with pytest.raises(DataError, match="annotations not found"):
        load_coco(tmp_path / "missing.json")


def test_coco_store_keeps_the_files_image_and_category_ids(tmp_path: Path) -> None:
    data = _instances()
    store = load_coco(COCO_INSTANCES, None, tmp_path)
    assert store.image_ids.tolist() == [397133, 37777]  # file order, like the frames
    ids = {c["name"]: c["id"] for c in data["categories"]}
    assert store.category_ids.tolist() == [ids[name] for name in store.categories]
    assert len(set(store.category_ids.tolist())) == len(store.categories)
    # A category the file does not name (here: a merged one) has no id of its own.
    names = {c["name"] for c in data["categories"]}
    merged = load_coco(COCO_INSTANCES, ["thing"], options=LoadOptions(name_mapping=dict.fromkeys(names, "thing")))
    assert merged.category_ids.tolist() == [-1]
    assert merged.image_ids.tolist() == [397133, 37777]
