"""Visualization throughput: draw 50 tracked boxes on 1280x720 frames, write JPEG + MP4.

Run: ``python benchmarks/bench_vis.py [--frames 100] [--boxes 50]``. One thread
for OpenCV and torch, as on a busy machine. Target: >= 30 frames per second for
the whole pipeline (drawing + JPEG + MP4).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from vis4d.vis.draw import draw_predictions
from vis4d.vis.writer import FrameVisualizer

CATEGORIES = ("pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")


def make_inputs(num_frames: int, num_boxes: int, height: int, width: int) -> tuple[np.ndarray, list[dict]]:
    """A textured background (camera-like, not white noise) and moving boxes with stable track ids."""
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xs / width * 200, ys / height * 180, (xs + ys) / (width + height) * 160], axis=2)
    image = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    starts = rng.uniform([0, 0], [width - 200, height - 150], size=(num_boxes, 2))
    sizes = rng.uniform([20, 20], [200, 150], size=(num_boxes, 2))
    velocity = rng.uniform(-4, 4, size=(num_boxes, 2))
    preds = []
    for t in range(num_frames):
        xy = starts + velocity * t
        boxes = np.concatenate([xy, xy + sizes], axis=1).astype(np.float32)
        preds.append(
            {
                "boxes": boxes,
                "class_ids": np.arange(num_boxes) % len(CATEGORIES),
                "scores": rng.uniform(0.3, 1, num_boxes).astype(np.float32),
                "track_ids": np.arange(num_boxes, dtype=np.int64) + 100,
            }
        )
    return image, preds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--boxes", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    height, width = 720, 1280
    image, preds = make_inputs(args.frames, args.boxes, height, width)

    # Drawing alone.
    start = time.perf_counter()
    for pred in preds:
        draw_predictions(image, pred["boxes"], CATEGORIES, pred["class_ids"], pred["scores"], pred["track_ids"])
    draw_s = (time.perf_counter() - start) / len(preds)

    # The whole pipeline: draw + JPEG + MP4, as `--visualize` runs it.
    with tempfile.TemporaryDirectory() as tmp:
        visualizer = FrameVisualizer(Path(tmp), CATEGORIES, write_images=True, write_video=True, fps=5)
        start = time.perf_counter()
        for i, pred in enumerate(preds):
            visualizer.add_frame(
                image,
                "video",
                f"video-{i:07d}.jpg",
                pred["boxes"],
                pred["class_ids"],
                pred["scores"],
                pred["track_ids"],
            )
        visualizer.close()
        total_s = (time.perf_counter() - start) / len(preds)

    print(f"frames: {args.frames} at {width}x{height}, {args.boxes} boxes each, 1 thread")
    print(f"{'stage':<28}{'ms/frame':>10}{'fps':>10}")
    print(f"{'draw':<28}{draw_s * 1e3:>10.2f}{1 / draw_s:>10.1f}")
    print(f"{'draw + JPEG + MP4':<28}{total_s * 1e3:>10.2f}{1 / total_s:>10.1f}")
    print(f"target >= 30 fps: {'met' if 1 / total_s >= 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
