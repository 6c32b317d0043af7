"""Synthetic videos for training and testing without any download.

Cars, pedestrians and cyclists (each with its own silhouette, colour jitter
and size range) move with near-constant velocity over smooth noisy
backgrounds, bounce off the borders, and occlude each other in depth order.
Labels are Scalabel JSON with track ids, so the data goes through the same
loader as real BDD100K labels. Everything is deterministic from the seed; the
train and test splits use different seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vis4d.common.errors import ConfigError
from vis4d.config.schema import SyntheticDatasetConfig

SYNTHETIC_CATEGORIES = ("car", "pedestrian", "cyclist")
# (min, max) object height in pixels relative to a 192-pixel-high frame; aspect ratio w/h.
_SIZES = {"car": ((22, 52), 1.8), "pedestrian": ((30, 64), 0.42), "cyclist": ((30, 58), 0.85)}
_OCCLUDED_VISIBLE_FRACTION = 0.3
# Smaller frames leave no room for objects of the sizes above.
_MIN_IMAGE_SIDE = 32


def _split_seed(seed: int, split: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{split}".encode()).digest()[:8], "little")


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random colour field with mild noise (float32, 0..255)."""
    coarse = rng.uniform(60, 190, size=(3, 4, 3)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.asarray(rng.normal(0, 6, size=field.shape), dtype=np.float32)
    return np.asarray(field, dtype=np.float32) + noise


def _draw(canvas: np.ndarray, mask: np.ndarray, category: str, box: np.ndarray, color: tuple[int, int, int]) -> None:
    """Draw one object filling ``box`` into the canvas and its silhouette into ``mask``."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    w, h = max(2, x2 - x1), max(2, y2 - y1)
    dark = tuple(int(c * 0.35) for c in color)
    for target, fill, detail in ((canvas, color, dark), (mask, 255, 255)):
        if category == "car":
            body_top = y1 + h // 3
            cv2.rectangle(target, (x1, body_top), (x1 + w, y1 + int(h * 0.8)), fill, -1, cv2.LINE_AA)
            cv2.rectangle(target, (x1 + w // 5, y1), (x1 + (4 * w) // 5, body_top + 1), fill, -1, cv2.LINE_AA)
            radius = max(2, h // 5)
            for cx in (x1 + w // 4, x1 + (3 * w) // 4):
                cv2.circle(target, (cx, y2 - radius), radius, detail, -1, cv2.LINE_AA)
            if target is canvas:
                cv2.rectangle(canvas, (x1 + w // 4, y1 + h // 10), (x1 + (3 * w) // 4, body_top), dark, -1)
        elif category == "pedestrian":
            head = max(2, w // 2)
            cv2.circle(target, (x1 + w // 2, y1 + head), head, fill, -1, cv2.LINE_AA)
            cv2.ellipse(
                target,
                (x1 + w // 2, y1 + (h + 2 * head) // 2),
                (max(1, w // 2), max(1, (h - 2 * head) // 2)),
                0,
                0,
                360,
                fill,
                -1,
                cv2.LINE_AA,
            )
            if target is canvas:
                cv2.line(canvas, (x1 + w // 2, y1 + h // 2), (x1 + w // 2, y2 - 1), dark, max(1, w // 6))
        else:  # cyclist: two wheels, a frame and a rider
            radius = max(2, w // 4)
            thickness = max(1, radius // 3)
            for cx in (x1 + radius, x2 - radius):
                cv2.circle(target, (cx, y2 - radius), radius, detail, thickness, cv2.LINE_AA)
            pts = np.array([[x1 + radius, y2 - radius], [x1 + w // 2, y1 + h // 2], [x2 - radius, y2 - radius]])
            cv2.polylines(target, [pts], False, fill, thickness + 1, cv2.LINE_AA)
            cv2.circle(target, (x1 + w // 2, y1 + max(2, w // 8)), max(2, w // 8), fill, -1, cv2.LINE_AA)
            cv2.line(target, (x1 + w // 2, y1 + w // 8), (x1 + w // 2, y1 + h // 2), fill, max(2, w // 7))


def _video(
    rng: np.random.Generator,
    name: str,
    num_frames: int,
    height: int,
    width: int,
    max_objects: int,
    categories: Sequence[str],
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Frames (uint8 BGR) and Scalabel frame dicts of one video."""
    count = int(rng.integers(max(1, max_objects // 2), max_objects + 1))
    scale = height / 192.0
    cats = rng.integers(0, len(categories), size=count)
    heights = np.array([rng.uniform(*_SIZES[categories[c]][0]) * scale for c in cats])
    widths = np.array([h * _SIZES[categories[c]][1] * rng.uniform(0.85, 1.15) for h, c in zip(heights, cats)])
    centers = np.stack([rng.uniform(0.1, 0.9, count) * width, rng.uniform(0.2, 0.85, count) * height], 1)
    velocity = rng.normal(0, 2.2 * scale, size=(count, 2)) * np.array([1.0, 0.4])
    depth = rng.permutation(count)  # drawing order: later = closer
    colors = rng.integers(20, 235, size=(count, 3))
    background = _background(rng, height, width)
    frames, labels = [], []
    for index in range(num_frames):
        canvas = np.clip(background + rng.normal(0, 4, background.shape), 0, 255).astype(np.uint8)
        boxes = np.concatenate(
            [centers - np.stack([widths, heights], 1) / 2, centers + np.stack([widths, heights], 1) / 2], 1
        )
        # Which object owns each pixel after depth-ordered drawing (-1: background),
        # and how many pixels each object's own silhouette covers inside the frame.
        owner = np.full((height, width), -1, dtype=np.int16)
        silhouette_area = np.zeros(count, dtype=np.int64)
        for obj in depth:
            mask = np.zeros((height, width), dtype=np.uint8)
            _draw(
                canvas,
                mask,
                categories[cats[obj]],
                boxes[obj],
                (int(colors[obj][0]), int(colors[obj][1]), int(colors[obj][2])),
            )
            drawn = mask > 0
            owner[drawn] = obj  # closer objects hide farther ones
            silhouette_area[obj] = int(np.count_nonzero(drawn))
        visible_area = np.bincount(owner[owner >= 0], minlength=count)
        frame_labels = []
        for obj in range(count):
            clipped = np.clip(boxes[obj], 0, [width, height, width, height])
            if clipped[2] - clipped[0] < 3 or clipped[3] - clipped[1] < 3:
                continue
            frame_labels.append(
                {
                    "id": str(obj),
                    "category": categories[cats[obj]],
                    "box2d": {k: round(float(v), 2) for k, v in zip(("x1", "y1", "x2", "y2"), clipped)},
                    "attributes": {
                        # More than 70% of the in-frame silhouette hidden by closer objects.
                        "occluded": bool(visible_area[obj] < _OCCLUDED_VISIBLE_FRACTION * silhouette_area[obj]),
                        "truncated": bool(np.any(clipped != boxes[obj])),
                        "crowd": False,
                    },
                }
            )
        frames.append(canvas)
        labels.append(
            {"name": f"{name}-{index:04d}.jpg", "videoName": name, "frameIndex": index, "labels": frame_labels}
        )
        # Move: constant velocity with a little noise, bouncing at the borders.
        velocity += rng.normal(0, 0.25 * scale, size=velocity.shape)
        centers += velocity
        for axis, limit in ((0, width), (1, height)):
            low, high = centers[:, axis] < 0, centers[:, axis] > limit
            velocity[low | high, axis] *= -1
            centers[:, axis] = np.clip(centers[:, axis], 0, limit)
    return frames, labels


def _check_parameters(
    num_videos: int, frames_per_video: int, image_size: tuple[int, int], max_objects: int, categories: Sequence[str]
) -> None:
    """Reject settings that cannot make a dataset, naming the config field."""
    for field, value in (
        ("num_videos", num_videos),
        ("frames_per_video", frames_per_video),
        ("max_objects", max_objects),
    ):
        if value < 1:
            raise ConfigError(f"synthetic dataset: {field} must be at least 1, got {value}")
    if min(image_size) < _MIN_IMAGE_SIDE:
        raise ConfigError(
            f"synthetic dataset: image_size must be at least {_MIN_IMAGE_SIDE} pixels per side, got {tuple(image_size)}"
        )
    unknown = sorted(set(categories) - set(_SIZES))
    if unknown:
        raise ConfigError(f"synthetic dataset: unknown categories {unknown}, expected some of {sorted(_SIZES)}")


def generate_synthetic(
    root: Path,
    split: str,
    num_videos: int,
    frames_per_video: int,
    image_size: tuple[int, int] = (192, 320),
    max_objects: int = 6,
    seed: int = 0,
    categories: Sequence[str] = SYNTHETIC_CATEGORIES,
) -> Path:
    """Write ``root/<split>/images/<video>/*.jpg`` and ``root/<split>/labels.json``; returns the labels path.

    Videos are named ``<split>-<index:03d>``, frames ``<video>-<frame:04d>.jpg``.
    """
    _check_parameters(num_videos, frames_per_video, image_size, max_objects, categories)
    rng = np.random.default_rng(_split_seed(seed, split))
    out = Path(root) / split
    all_frames: list[dict[str, Any]] = []
    for v in range(num_videos):
        name = f"{split}-{v:03d}"
        video_dir = out / "images" / name
        video_dir.mkdir(parents=True, exist_ok=True)
        frames, labels = _video(rng, name, frames_per_video, image_size[0], image_size[1], max_objects, categories)
        for frame, label in zip(frames, labels):
            cv2.imwrite(str(video_dir / label["name"]), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        all_frames.extend(labels)
    labels_path = out / "labels.json"
    labels_path.write_text(json.dumps(all_frames))
    return labels_path


def _read_meta(folder: Path) -> dict[str, Any] | None:
    """The generation parameters recorded in ``folder/meta.json``, or None if absent/unreadable."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def ensure_synthetic(cfg: SyntheticDatasetConfig) -> tuple[Path, Path]:
    """(labels.json, image root) of the configured split, generated once into ``cfg.root``.

    The split is generated into a temporary folder and renamed into place, so
    a killed run never leaves half a dataset; ``meta.json`` records the
    parameters, and a folder made with other parameters is regenerated.
    Concurrent processes (DDP ranks) each generate privately; the first
    rename wins and the others discard their identical copy.
    """
    meta = {
        "split": cfg.split,
        "num_videos": cfg.num_videos,
        "frames_per_video": cfg.frames_per_video,
        "image_size": list(cfg.image_size),
        "max_objects": cfg.max_objects,
        "seed": cfg.seed,
        # 2: occlusion measured against each object's own silhouette (images unchanged).
        "version": 2,
    }
    root = Path(cfg.root)
    final = root / cfg.split
    if final.is_dir():
        if _read_meta(final) == meta:
            return final / "labels.json", final / "images"
        # Stale: move it aside first (atomic), so no process ever sees a half-deleted split.
        stale = Path(tempfile.mkdtemp(prefix=f".{cfg.split}.stale.", dir=root))
        try:
            os.replace(final, stale / cfg.split)
        except OSError:
            pass  # another process moved or replaced it meanwhile
        shutil.rmtree(stale, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cfg.split}.", dir=root))
    try:
        generate_synthetic(
            tmp,
            cfg.split,
            cfg.num_videos,
            cfg.frames_per_video,
            (cfg.image_size[0], cfg.image_size[1]),
            cfg.max_objects,
            cfg.seed,
        )
        (tmp / cfg.split / "meta.json").write_text(json.dumps(meta))
        try:
            os.replace(tmp / cfg.split, final)
        except OSError:
            if _read_meta(final) != meta:  # not another process's identical copy: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final / "labels.json", final / "images"
