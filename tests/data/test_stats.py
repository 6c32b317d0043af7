from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vis4d.data.stats import dataset_stats, main
from vis4d.data.store import FrameRecord, build_store, empty_box_columns

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BDD_LABELS = FIXTURES / "bdd100k_track" / "labels"
BDD_CONFIG = FIXTURES / "bdd100k_track" / "config.toml"
COCO_INSTANCES = FIXTURES / "coco" / "annotations" / "instances_train.json"


def _reference_bdd_stats() -> dict[str, dict[str, int]]:
    """Counts computed directly from the JSON, after BDD100K's mappings (none apply to this sample)."""
    boxes: dict[str, int] = {}
    tracks: dict[str, set[tuple[str, str]]] = {}
    for file in sorted(BDD_LABELS.glob("*.json")):
        for fr in json.loads(file.read_text()):
            for lab in fr["labels"]:
                if lab["attributes"]["crowd"]:
                    continue
                boxes[lab["category"]] = boxes.get(lab["category"], 0) + 1
                tracks.setdefault(lab["category"], set()).add((fr["videoName"], lab["id"]))
    return {name: {"boxes": boxes[name], "tracks": len(tracks[name])} for name in boxes}


def test_stats_json_on_bdd_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "bdd100k", "--path", str(BDD_LABELS), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    reference = _reference_bdd_stats()
    assert stats["per_category"] == dict(sorted(reference.items()))
    assert stats["videos"] == 2 and stats["frames"] == 12
    assert stats["boxes"] == 87 + 167 - 1 and stats["ignored"] == 1
    assert stats["tracks"] == sum(v["tracks"] for v in reference.values())
    assert set(stats) == {"videos", "frames", "boxes", "tracks", "ignored", "per_category"}


def test_stats_with_label_config_lists_all_leaf_categories(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "bdd100k", "--path", str(BDD_LABELS), "--config", str(BDD_CONFIG), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert list(stats["per_category"]) == [
        "pedestrian",
        "rider",
        "car",
        "truck",
        "bus",
        "train",
        "motorcycle",
        "bicycle",
    ]
    assert stats["per_category"]["bus"] == {"boxes": 0, "tracks": 0}
    assert stats["per_category"]["car"]["boxes"] == 44 + 143


def test_stats_with_vis4d_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "exp.toml"
    config.write_text('categories = ["person", "bowl"]\n[model]\ntype = "detector"\n')
    args = ["--format", "coco", "--path", str(COCO_INSTANCES), "--config", str(config), "--json"]
    assert main(args) == 2  # other COCO categories are unknown to this config
    assert "unknown categor" in capsys.readouterr().err
    assert main([*args, "--drop-unknown"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["per_category"] == {"person": {"boxes": 2, "tracks": 0}, "bowl": {"boxes": 4, "tracks": 0}}
    assert stats["frames"] == 2 and stats["videos"] == 2


def test_stats_table_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "coco", "--path", str(COCO_INSTANCES)]) == 0
    out = capsys.readouterr().out
    assert "orange" in out and "videos: 2  frames: 2  boxes: 33" in out
    assert main(["--format", "scalabel", "--path", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "annotations not found" in err


def test_dataset_stats_counts_tracks_per_video_and_class() -> None:
    def frame(video: str, index: int, classes: list[int], tracks: list[int], ignore: list[bool]) -> FrameRecord:
        columns = empty_box_columns(len(classes))
        columns["class_ids"] = np.array(classes)
        columns["track_ids"] = np.array(tracks)
        columns["ignore"] = np.array(ignore)
        return FrameRecord(f"{video}-{index}", video, index, "", 0, 0, columns)

    store = build_store(
        ["car", "pedestrian"],
        [
            frame("a", 0, [0, 0, 1], [0, 1, 2], [False, False, True]),
            frame("a", 1, [0, 1], [0, -1], [False, False]),
            frame("b", 0, [0], [0], [False]),  # same id, other video: another track
            frame("c", 0, [], [], []),
        ],
    )
    stats = dataset_stats(store)
    assert stats == {
        "videos": 3,
        "frames": 4,
        "boxes": 5,
        "tracks": 3,
        "ignored": 1,
        "per_category": {"car": {"boxes": 4, "tracks": 3}, "pedestrian": {"boxes": 1, "tracks": 0}},
    }


def test_box_sizes_against_the_anchors_of_a_vis4d_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sizes at the training input scale; boxes under half the smallest anchor are counted, with advice."""
    config = tmp_path / "cfg.toml"
    head = 'categories = ["car", "pedestrian"]\n[model]\ntype = "detector"\n'
    head += '[model.detector]\ntype = "faster_rcnn"\n[model.detector.rpn]\n'
    resize = '[train_handler]\ntransforms = [{ type = "resize", shape = [360, 640] }]\n'  # half of 720x1280
    config.write_text(head + "anchor_sizes = [32, 64, 128, 256, 512]\n" + resize)
    args = ["--format", "bdd100k", "--path", str(BDD_LABELS), "--config", str(config), "--drop-unknown"]
    assert main([*args, "--json"]) == 0
    sizes = json.loads(capsys.readouterr().out)["box_sizes"]
    boxes = []
    for file in sorted(BDD_LABELS.glob("*.json")):
        for frame in json.loads(file.read_text()):
            for label in frame["labels"]:
                if label["category"] in ("car", "pedestrian") and not label["attributes"]["crowd"]:
                    b = label["box2d"]
                    boxes.append(np.sqrt((b["x2"] - b["x1"]) * (b["y2"] - b["y1"])) / 2)
    assert sizes["boxes"] == len(boxes) and sizes["smallest_anchor"] == 32
    assert sizes["below_half_smallest_anchor"] == sum(size < 16 for size in boxes) > 0.1 * len(boxes)
    assert sizes["percentiles"]["50"] == pytest.approx(np.percentile(boxes, 50), abs=0.05)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "are under 16 px, half the smallest anchor (32 px)" in out
    assert "warning: consider smaller anchors, e.g. model.detector.rpn.anchor_sizes starting at 16" in out
