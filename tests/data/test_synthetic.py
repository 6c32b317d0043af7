from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vis4d.config.schema import SyntheticDatasetConfig
from vis4d.data.datasets import load_scalabel
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
