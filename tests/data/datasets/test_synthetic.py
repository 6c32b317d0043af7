from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vis4d.common.errors import ConfigError
from vis4d.config.schema import SyntheticDatasetConfig
from vis4d.data.datasets import load_scalabel, synthetic
from vis4d.data.datasets.synthetic import SYNTHETIC_CATEGORIES, ensure_synthetic, generate_synthetic


def test_generation_is_deterministic_and_split_dependent(tmp_path: Path) -> None:
    a = generate_synthetic(tmp_path / "a", "train", 2, 3, (64, 96), 3, seed=5)
    b = generate_synthetic(tmp_path / "b", "train", 2, 3, (64, 96), 3, seed=5)
    c = generate_synthetic(tmp_path / "c", "test", 2, 3, (64, 96), 3, seed=5)
    assert a.read_text() == b.read_text() != c.read_text()
    image = "images/train-000/train-000-0001.jpg"
    assert (a.parent / image).read_bytes() == (b.parent / image).read_bytes()


def test_labels_are_valid_and_tracks_persist(tmp_path: Path) -> None:
    labels = json.loads(generate_synthetic(tmp_path, "train", 3, 6, (96, 160), 5, seed=1).read_text())
    assert len(labels) == 18
    ids_per_video: dict[str, list[set[str]]] = {}
    for frame in labels:
        for label in frame["labels"]:
            box = label["box2d"]
            assert 0 <= box["x1"] < box["x2"] <= 160 and 0 <= box["y1"] < box["y2"] <= 96
            assert label["category"] in SYNTHETIC_CATEGORIES
        ids_per_video.setdefault(frame["videoName"], []).append({lab["id"] for lab in frame["labels"]})
    for frames in ids_per_video.values():
        # Objects persist: consecutive frames share most of their track ids.
        shared = [len(x & y) / max(1, len(x | y)) for x, y in zip(frames, frames[1:])]
        assert np.mean(shared) > 0.6


def test_ensure_synthetic_reuses_and_regenerates(tmp_path: Path) -> None:
    cfg = SyntheticDatasetConfig(name="s", root=str(tmp_path), num_videos=1, frames_per_video=2, image_size=(32, 48))
    labels, images = ensure_synthetic(cfg)
    stamp = labels.stat().st_mtime_ns
    assert ensure_synthetic(cfg)[0].stat().st_mtime_ns == stamp
    bigger = cfg.model_copy(update={"frames_per_video": 3})
    labels, images = ensure_synthetic(bigger)
    assert len(json.loads(labels.read_text())) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left
    store = load_scalabel(labels, list(SYNTHETIC_CATEGORIES), image_root=images)
    assert store.num_frames == 3 and Path(str(store.image_paths[0])).is_file()


def test_flags_and_images_match_the_labels(tmp_path: Path) -> None:
    labels_path = generate_synthetic(tmp_path, "train", 6, 8, (96, 160), 8, seed=3)
    labels = json.loads(labels_path.read_text())
    boxes = [lab for frame in labels for lab in frame["labels"]]
    assert {lab["category"] for lab in boxes} == set(SYNTHETIC_CATEGORIES)
    border = [
        lab["box2d"]["x1"] <= 0 or lab["box2d"]["y1"] <= 0 or lab["box2d"]["x2"] >= 160 or lab["box2d"]["y2"] >= 96
        for lab in boxes
    ]
    truncated = [lab["attributes"]["truncated"] for lab in boxes]
    assert all(b for b, t in zip(border, truncated) if t)  # truncated boxes touch the border
    occluded = [lab["attributes"]["occluded"] for lab in boxes]
    assert 0 < sum(occluded) < len(occluded)  # depth-ordered overlaps hide some objects, not most
    frame = labels[0]
    image = cv2.imread(str(labels_path.parent / "images" / frame["videoName"] / frame["name"]))
    assert image is not None and image.shape == (96, 160, 3)
    # Objects differ from the background they stand on: the box interior is not just the smooth field.
    visible = [lab for lab in frame["labels"] if not lab["attributes"]["occluded"]]
    assert visible
    for lab in visible:
        b = lab["box2d"]
        crop = image[int(b["y1"]) : int(np.ceil(b["y2"])), int(b["x1"]) : int(np.ceil(b["x2"]))]
        assert float(crop.reshape(-1, 3).std(0).max()) > 8


def test_invalid_parameters_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="num_videos"):
        generate_synthetic(tmp_path, "train", 0, 3)
    with pytest.raises(ConfigError, match="image_size"):
        generate_synthetic(tmp_path, "train", 1, 3, image_size=(8, 64))
    with pytest.raises(ConfigError, match="unknown categories"):
        generate_synthetic(tmp_path, "train", 1, 3, categories=("car", "boat"))


def test_interrupted_generation_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = SyntheticDatasetConfig(name="s", root=str(tmp_path), num_videos=2, frames_per_video=2, image_size=(32, 48))

    def killed(root: Path, split: str, *args: object) -> Path:
        (Path(root) / split / "images").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, "generate_synthetic", killed)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic(cfg)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    labels, images = ensure_synthetic(cfg)
    meta = json.loads((labels.parent / "meta.json").read_text())
    assert meta["num_videos"] == 2 and len(list(images.iterdir())) == 2
