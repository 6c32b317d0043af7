"""Helpers for the loader tests (imported by the test modules): the copied real samples and tiny Scalabel frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BDD_LABELS = FIXTURES / "bdd100k_track" / "labels"
BDD_CONFIG = FIXTURES / "bdd100k_track" / "config.toml"
COCO_INSTANCES = FIXTURES / "coco" / "annotations" / "instances_train.json"
VIDEO_A = "00091078-875c1f73"
VIDEO_B = "b1c66a42-6f7d68ca"


def label(track: str | None, category: str, box: tuple[float, float, float, float], **extra: Any) -> dict[str, Any]:
    """One Scalabel label with a box2d."""
    out: dict[str, Any] = {
        "category": category,
        "box2d": dict(zip(("x1", "y1", "x2", "y2"), box, strict=True)),
        "attributes": {"crowd": False, "occluded": False, "truncated": False},
    }
    if track is not None:
        out["id"] = track
    out.update(extra)
    return out


def frame(name: str, video: str | None, index: int, labels: list[dict[str, Any]]) -> dict[str, Any]:
    """One Scalabel frame."""
    out: dict[str, Any] = {"name": name, "frameIndex": index, "labels": labels}
    if video is not None:
        out["videoName"] = video
    return out


def write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def two_videos_frames() -> list[dict[str, Any]]:
    """Two videos of two frames, frames deliberately out of order in the list."""
    return [
        frame("v1-2.jpg", "v1", 2, [label("a", "car", (10, 10, 20, 20)), label("b", "pedestrian", (0, 0, 5, 9))]),
        frame("v1-1.jpg", "v1", 1, [label("b", "pedestrian", (1, 1, 6, 10))]),
        frame("v2-1.jpg", "v2", 1, [label("a", "car", (5, 5, 50, 40))]),
        frame("v2-2.jpg", "v2", 2, []),
    ]
