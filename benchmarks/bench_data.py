"""Benchmark: Scalabel loading into the columnar store, the cache, and memory.

Writes a BDD100K-val-sized synthetic label set (default 200 videos x 200
frames x 20 boxes, one Scalabel JSON file per video) to a temporary folder and
reports:

* first load (parse + map + sort + write the cache entry) and cached load time;
* store memory (sum of the arrays' ``nbytes``) against the Python objects the
  same labels occupy after ``json.load`` (measured with tracemalloc on a sample
  of files and scaled to all files);
* memory growth of 2 DataLoader workers reading every frame's boxes from the
  store for one epoch (RSS from /proc/self/status), which stays flat because
  numpy arrays are shared copy-on-write and never touched by refcounting;
* the ``scalabel`` package's loader, if installed (else "skipped").

Targets: cached load < 1 s; first load far below scalabel's 61 s measured on
this machine; store memory < 1/5 of the Python objects.

Usage: ``python benchmarks/bench_data.py [--videos 200] [--frames 200] [--boxes 20]``
(the full size takes a few minutes, mostly writing the JSON files).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from vis4d.config.schema import ScalabelDatasetConfig
from vis4d.data.datasets import load_dataset
from vis4d.data.store import AnnotationStore

CATEGORIES = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]


def write_labels(folder: Path, videos: int, frames: int, boxes: int, seed: int = 0) -> list[Path]:
    """One Scalabel file per video with random boxes and stable track ids."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for video in range(videos):
        name = f"video-{video:05d}"
        xy = rng.uniform(0, 1200, size=(frames, boxes, 2)).round(2)
        wh = rng.uniform(5, 200, size=(frames, boxes, 2)).round(2)
        cats = rng.integers(0, len(CATEGORIES), size=boxes)
        data = [
            {
                "name": f"{name}-{f + 1:07d}.jpg",
                "videoName": name,
                "frameIndex": f,
                "labels": [
                    {
                        "id": str(video * 1000 + b),
                        "category": CATEGORIES[cats[b]],
                        "attributes": {"occluded": bool(b % 3 == 0), "truncated": False, "crowd": False},
                        "box2d": {
                            "x1": float(xy[f, b, 0]),
                            "y1": float(xy[f, b, 1]),
                            "x2": float(xy[f, b, 0] + wh[f, b, 0]),
                            "y2": float(xy[f, b, 1] + wh[f, b, 1]),
                        },
                    }
                    for b in range(boxes)
                ],
            }
            for f in range(frames)
        ]
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


def store_nbytes(store: AnnotationStore) -> int:
    """Bytes held by the store's arrays."""
    return sum(
        getattr(store, f.name).nbytes
        for f in dataclasses.fields(store)
        if isinstance(getattr(store, f.name), np.ndarray)
    )


def python_objects_bytes(paths: list[Path], sample: int) -> int:
    """Memory of ``json.load`` results, measured on ``sample`` files and scaled to all of them."""
    chosen = paths[:sample]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [json.loads(p.read_bytes()) for p in chosen]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return int((after - before) * len(paths) / len(chosen))


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class StoreFrames(Dataset[tuple[torch.Tensor, int, int]]):
    """Per-frame boxes from the store, as the handler reads them; reports the worker's RSS."""

    def __init__(self, store: AnnotationStore) -> None:
        self.store = store

    def __len__(self) -> int:
        return self.store.num_frames

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        columns = self.store.frame_boxes(index)
        boxes = torch.from_numpy(np.array(columns["boxes"]))
        info = get_worker_info()
        return boxes, info.id if info else -1, rss_bytes()


def worker_rss_growth(store: AnnotationStore, workers: int) -> dict[int, tuple[int, int]]:
    """(first, last) RSS of each worker over one epoch."""
    loader = DataLoader(StoreFrames(store), batch_size=64, num_workers=workers, collate_fn=lambda items: items)
    seen: dict[int, tuple[int, int]] = {}
    for batch in loader:
        for _, worker, rss in batch:
            first = seen.get(worker, (rss, rss))[0]
            seen[worker] = (first, rss)
    return seen


def scalabel_package_time(folder: Path) -> str:
    """Time of the scalabel package's loader, if it is installed."""
    try:
        from scalabel.label.io import load  # type: ignore[import-not-found]
    except ImportError:
        return "skipped (scalabel not installed)"
    start = time.perf_counter()
    load(str(folder), nprocs=0)
    return f"{time.perf_counter() - start:.1f} s"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--boxes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample-files", type=int, default=5, help="Files measured with tracemalloc.")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vis4d-bench-data-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        paths = write_labels(root / "labels", args.videos, args.frames, args.boxes)
        write_s = time.perf_counter() - start
        json_mb = sum(p.stat().st_size for p in paths) / 2**20
        cfg = ScalabelDatasetConfig(name="bench", annotations=str(root / "labels"), image_root=str(root / "images"))

        start = time.perf_counter()
        store = load_dataset(cfg, CATEGORIES, cache_dir=root / "cache")
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        cached = load_dataset(cfg, CATEGORIES, cache_dir=root / "cache")
        cached_s = time.perf_counter() - start
        assert cached.num_boxes == store.num_boxes == args.videos * args.frames * args.boxes

        store_mb = store_nbytes(cached) / 2**20
        python_mb = python_objects_bytes(paths, min(args.sample_files, len(paths))) / 2**20
        growth = worker_rss_growth(cached, args.workers)
        scalabel = scalabel_package_time(root / "labels")

    rows: list[tuple[str, Any]] = [
        ("labels", f"{args.videos} videos x {args.frames} frames x {args.boxes} boxes = {store.num_boxes:,} boxes"),
        ("JSON on disk", f"{json_mb:.0f} MiB (written in {write_s:.1f} s)"),
        ("first load (parse + cache write)", f"{first_s:.2f} s"),
        ("cached load", f"{cached_s:.3f} s  (target < 1 s)"),
        ("store memory (array nbytes)", f"{store_mb:.1f} MiB"),
        ("json.load Python objects (tracemalloc, scaled)", f"{python_mb:.0f} MiB"),
        ("store / Python objects", f"1/{python_mb / max(store_mb, 1e-9):.1f}  (target < 1/5)"),
    ]
    for worker, (first, last) in sorted(growth.items()):
        rows.append(
            (
                f"worker {worker} RSS over one epoch",
                f"{first / 2**20:.0f} -> {last / 2**20:.0f} MiB ({(last - first) / 2**20:+.1f} MiB)",
            )
        )
    rows.append(("scalabel package loader", scalabel))
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print(f"(pid {os.getpid()}, torch threads {torch.get_num_threads()})")


if __name__ == "__main__":
    main()
