from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.data.datasets.loader_helpers import BDD_LABELS, VIDEO_A, VIDEO_B, frame, label, write_json
from vis4d.common.errors import DataError
from vis4d.data.datasets import bdd100k_track_label_config, load_scalabel
from vis4d.data.mapping import LoadOptions
from vis4d.data.notes import collecting
from vis4d.data.store import AnnotationStore

BDD_CATEGORIES = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]


def _first_seen_ids(frames: list[dict[str, Any]]) -> list[int]:
    """Reference numbering of a video's track id strings, computed independently of the loader."""
    table: dict[str, int] = {}
    out = []
    for fr in sorted(frames, key=lambda f: f["frameIndex"]):
        for lab in fr["labels"]:
            out.append(table.setdefault(lab["id"], len(table)))
    return out


# ----------------------------------------------------------------- real BDD100K sample
def test_bdd_video_exact_boxes_ids_and_flags() -> None:
    path = BDD_LABELS / f"{VIDEO_A}.json"
    frames = json.loads(path.read_text())
    store = load_scalabel(path, BDD_CATEGORIES, "/images", label_config=bdd100k_track_label_config())

    assert store.num_videos == 1 and store.num_frames == 6 and store.num_boxes == 87
    assert list(store.video_names) == [VIDEO_A]
    assert list(store.frame_index) == [165, 166, 167, 168, 169, 170]
    assert store.image_paths[0] == f"/images/{VIDEO_A}/{VIDEO_A}-0000166.jpg"
    labels = [lab for fr in sorted(frames, key=lambda f: f["frameIndex"]) for lab in fr["labels"]]
    expected_boxes = np.array([[lab["box2d"][k] for k in ("x1", "y1", "x2", "y2")] for lab in labels], np.float32)
    np.testing.assert_array_equal(store.boxes, expected_boxes)
    names = [store.categories[c] for c in store.class_ids]
    assert names == [lab["category"] for lab in labels]
    assert names.count("car") == 44 and names.count("pedestrian") == 35 and names.count("truck") == 8
    np.testing.assert_array_equal(store.track_ids, _first_seen_ids(frames))
    crowd = np.array([lab["attributes"]["crowd"] for lab in labels])
    np.testing.assert_array_equal(store.crowd, crowd)
    np.testing.assert_array_equal(store.ignore, crowd)  # crowd boxes are ignore regions
    assert store.crowd.sum() == 1
    np.testing.assert_array_equal(store.occluded, [lab["attributes"]["occluded"] for lab in labels])
    np.testing.assert_array_equal(store.scores, np.ones(87, np.float32))
    assert (store.widths == 1280).all() and (store.heights == 720).all()  # BDD100K config image size
    assert store.box_offsets[-1] == 87


def test_bdd_folder_two_videos() -> None:
    store = load_scalabel(
        BDD_LABELS, BDD_CATEGORIES, BDD_LABELS.parent / "images", label_config=bdd100k_track_label_config()
    )
    assert list(store.video_names) == [VIDEO_A, VIDEO_B]
    assert store.num_frames == 12 and store.num_boxes == 87 + 167
    counts = np.diff(store.box_offsets)
    frames_b = store.frame_range(1)
    assert counts[frames_b.start : frames_b.stop].sum() == 167
    assert Path(store.image_paths[0]).is_absolute()
    # Track ids restart per video and are dense 0..k-1.
    for video in range(2):
        rows = slice(store.box_offsets[store.video_offsets[video]], store.box_offsets[store.video_offsets[video + 1]])
        ids = store.track_ids[rows]
        assert ids.min() == 0 and set(ids.tolist()) == set(range(ids.max() + 1))


def test_discovered_categories_are_sorted_mapped_names() -> None:
    store = load_scalabel(BDD_LABELS, label_config=bdd100k_track_label_config())
    assert store.categories == ("car", "motorcycle", "pedestrian", "rider", "truck")


# ---------------------------------------------------------------------- file variants
def test_list_frames_object_and_folder_load_identically(tmp_path: Path, two_videos: list[dict[str, Any]]) -> None:
    as_list = write_json(tmp_path / "list.json", two_videos)
    as_object = write_json(
        tmp_path / "object.json", {"frames": two_videos, "config": {"categories": [{"name": "car"}]}}
    )
    folder = tmp_path / "folder"
    write_json(folder / "v1.json", [f for f in two_videos if f["videoName"] == "v1"])
    write_json(folder / "v2.json", [f for f in two_videos if f["videoName"] == "v2"])
    stores = [load_scalabel(p, ["car", "pedestrian"], tmp_path) for p in (as_list, as_object, folder)]
    for store in stores[1:]:
        for name in ("video_names", "frame_names", "frame_index", "image_paths", "boxes", "class_ids", "track_ids"):
            np.testing.assert_array_equal(getattr(store, name), getattr(stores[0], name), err_msg=name)
    store = stores[0]
    assert list(store.frame_names) == ["v1-1.jpg", "v1-2.jpg", "v2-1.jpg", "v2-2.jpg"]  # sorted by frameIndex
    np.testing.assert_array_equal(store.box_offsets, [0, 1, 3, 4, 4])
    # "b" is seen first (frame 1) in v1, so it is 0; ids restart in v2.
    np.testing.assert_array_equal(store.track_ids, [0, 1, 0, 0])
    np.testing.assert_array_equal(store.class_ids, [1, 0, 1, 0])
    np.testing.assert_array_equal(store.boxes[0], [1, 1, 6, 10])


def test_frames_without_video_are_one_frame_videos(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "det.json",
        [frame("b.jpg", None, 0, [label(None, "car", (0, 0, 1, 1))]), frame("a.jpg", None, 0, [])],
    )
    store = load_scalabel(path, ["car"], tmp_path / "imgs")
    assert list(store.video_names) == ["b.jpg", "a.jpg"]
    assert store.image_paths[1] == str((tmp_path / "imgs" / "a.jpg").resolve())
    assert store.track_ids.tolist() == [-1]


def test_flat_image_layout_detected_from_first_frame(tmp_path: Path, two_videos: list[dict[str, Any]]) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "v1-2.jpg").write_bytes(b"")
    store = load_scalabel(write_json(tmp_path / "l.json", two_videos), ["car", "pedestrian"], tmp_path / "img")
    assert store.image_paths[0] == str((tmp_path / "img" / "v1-1.jpg").resolve())


def test_predictions_keep_scores_and_labels_without_box_are_skipped(tmp_path: Path) -> None:
    frames = [
        frame(
            "f.jpg",
            "v",
            0,
            [
                label("1", "car", (0, 0, 4, 4), score=0.25),
                {"id": "2", "category": "car", "poly2d": []},
                label("3", "car", (1, 1, 4, 4), score=0.75),
            ],
        )
    ]
    store = load_scalabel(write_json(tmp_path / "p.json", frames), ["car"])
    np.testing.assert_allclose(store.scores, [0.25, 0.75])
    assert store.image_paths[0] == "v/f.jpg"  # no image root: relative


# ---------------------------------------------------------------------------- mapping
def test_name_ignored_mapping_and_crowd(tmp_path: Path) -> None:
    crowd = label("4", "car", (0, 0, 3, 3))
    crowd["attributes"]["crowd"] = True
    labels = [
        label("1", "person", (0, 0, 1, 1)),
        label("2", "other vehicle", (0, 0, 2, 2)),
        label("3", "van", (0, 0, 2, 2)),
        crowd,
    ]
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, labels)])
    store = load_scalabel(path, ["car", "pedestrian"], label_config=bdd100k_track_label_config())
    assert [store.categories[c] for c in store.class_ids] == ["pedestrian", "car", "car", "car"]
    assert store.ignore.tolist() == [False, True, False, True]
    assert store.crowd.tolist() == [False, False, False, True]


def test_unknown_categories_listed_with_counts_or_dropped(tmp_path: Path) -> None:
    labels = [label(str(i), name, (0, 0, 1, 1)) for i, name in enumerate(["car", "tram", "tram", "boat"])]
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, labels)])
    with pytest.raises(DataError) as info:
        load_scalabel(path, ["car"])
    message = str(info.value)
    assert "'boat' (1 box)" in message and "'tram' (2 boxes)" in message
    assert str(path) in message and "frame 'f.jpg' label 1" in message
    store = load_scalabel(path, ["car"], options=LoadOptions(unknown_categories="drop"))
    assert store.num_boxes == 1 and store.track_ids.tolist() == [0]


def test_dataset_mapping_overrides_label_config(tmp_path: Path) -> None:
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, [label("1", "other person", (0, 0, 1, 1))])])
    store = load_scalabel(
        path,
        ["pedestrian", "rider"],
        label_config=bdd100k_track_label_config(),
        options=LoadOptions(ignored_mapping={"other person": "rider"}),
    )
    assert store.categories[store.class_ids[0]] == "rider" and store.ignore[0]


# ------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="annotations not found"):
        load_scalabel(tmp_path / "nope.json", ["car"])


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[\n{"name": "a.jpg",\n "labels": [}\n]')
    with pytest.raises(DataError, match=r"bad\.json:3:\d+: malformed JSON"):
        load_scalabel(path, ["car"])


def test_structural_error_names_frame_and_label(tmp_path: Path) -> None:
    broken = label("2", "car", (0, 0, 1, 1))
    del broken["box2d"]["y2"]
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, [label("1", "car", (0, 0, 1, 1)), broken])])
    with pytest.raises(DataError, match=r"l\.json: frame 'f\.jpg' label 1: box2d must have x1, y1, x2, y2"):
        load_scalabel(path, ["car"])


@pytest.mark.parametrize(
    ("box", "text"), [((5, 0, 4, 1), "x1=5, y1=0, x2=4"), ((0, 3, 1, 2), "y1=3"), ((0, math.nan, 1, 1), "y1=nan")]
)
def test_degenerate_box_fail_or_skip_with_one_warning(
    tmp_path: Path, box: tuple[float, float, float, float], text: str
) -> None:
    labels = [label("1", "car", (0, 0, 1, 1)), label("2", "car", box), label("3", "car", box)]
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, labels)])
    with pytest.raises(DataError) as info:
        load_scalabel(path, ["car"], options=LoadOptions(on_degenerate_box="fail"))
    assert "frame 'f.jpg' label 1" in str(info.value) and text in str(info.value) and "2 such box" in str(info.value)
    with collecting() as said:
        store = load_scalabel(path, ["car"], options=LoadOptions(on_degenerate_box="skip"))
    assert store.num_boxes == 1
    warnings = [m for m in said if "degenerate" in m]
    assert len(warnings) == 1 and "skipped 2 degenerate" in warnings[0]


def test_track_id_reused_in_frame(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    write_json(folder / "good.json", [frame("g.jpg", "g", 0, [label("1", "car", (0, 0, 1, 1))])])
    bad = [label("1", "car", (0, 0, 1, 1)), label("2", "car", (0, 0, 1, 1)), label("1", "car", (0, 0, 2, 2))]
    write_json(folder / "bad.json", [frame("b0.jpg", "b", 0, []), frame("b1.jpg", "b", 1, bad)])
    with pytest.raises(DataError, match=r"bad\.json: frame 'b1\.jpg' label 2: track id used twice"):
        load_scalabel(folder, ["car"])
    with collecting() as said:
        store = load_scalabel(folder, ["car"], options=LoadOptions(on_malformed="skip"))
    assert list(store.video_names) == ["g"] and store.num_boxes == 1
    assert any("bad.json" in m for m in said)


def test_malformed_file_skipped_in_folder(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    write_json(folder / "a.json", [frame("a.jpg", "a", 0, [label("1", "car", (0, 0, 1, 1))])])
    (folder / "b.json").write_text("{not json")
    with collecting() as said:
        store = load_scalabel(folder, ["car"], options=LoadOptions(on_malformed="skip"))
    assert list(store.video_names) == ["a"]
    assert any("b.json" in m for m in said)


def test_duplicate_frame_is_an_error(tmp_path: Path) -> None:
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, []), frame("f.jpg", "v", 1, [])])
    with pytest.raises(DataError, match="frame 'f.jpg' of video 'v' appears 2 times"):
        load_scalabel(path, ["car"])


def test_skip_empty_frames(tmp_path: Path, two_videos: list[dict[str, Any]]) -> None:
    store = load_scalabel(
        write_json(tmp_path / "l.json", two_videos), ["car", "pedestrian"], options=LoadOptions(skip_empty_frames=True)
    )
    assert list(store.frame_names) == ["v1-1.jpg", "v1-2.jpg", "v2-1.jpg"]
    assert isinstance(store, AnnotationStore)
