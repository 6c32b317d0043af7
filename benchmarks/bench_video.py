"""Frames per second of a shipped config on real video frames: the whole model and its detector alone (not a test).

Runs the config's test handler and model on the 12 real BDD100K frames of
``assets/bdd100k_sample`` (two videos, 1280x720) with random weights (no
download; the cost does not depend on the values), one frame per step as
``predict`` does, and prints the median seconds per frame and frames per
second of ``model.predict`` (detect + track) beside the detector alone, plus
the data handler's time per frame (decode, resize, normalise).

Usage: python benchmarks/bench_video.py --config configs/experiments/bytetrack/bytetrack_faster_rcnn_R_50_FPN_coco.toml
       [--threads 2] [--device cpu] [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from vis4d.common.structures import Batch
from vis4d.config.load import load_config
from vis4d.config.schema import ImageFolderDatasetConfig
from vis4d.data.datasets.image_folder import load_image_folder
from vis4d.data.handler import FrameDataset, make_collate
from vis4d.model.build import build_model

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Time the config's model on the sample frames."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1, help="Passes over the 12 frames.")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Smoke run (the docs test): the first frame only, resized to 128x224; Faster R-CNN keeps 100 proposals.",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = load_config(args.config)
    if args.quick:  # every resize of the test handler to 128x224: the smoke run checks the path, not the speed
        resizes = [i for i, t in enumerate(config.test_handler.transforms) if getattr(t, "shape", None) is not None]
        options = [f"test_handler.transforms.{i}.shape=[128,224]" for i in resizes]
        if getattr(getattr(config.model, "detector", None), "type", None) == "faster_rcnn":  # its box head's FCs
            options.append("model.detector.rpn.pre_nms_top_n_test=100,model.detector.rpn.post_nms_top_n_test=100")
        config = load_config(args.config, ",".join(options))
    model = build_model(config.model, len(config.categories)).to(device).eval()  # random weights: none are loaded
    model.fold_batch_norm()  # as predict does
    detector = model.detector
    store = load_image_folder(
        ImageFolderDatasetConfig(root=str(ROOT / "assets/bdd100k_sample/images")), config.categories
    )
    dataset = FrameDataset(store, config.test_handler, config.categories, training=False)

    def _detect(batch: Batch) -> object:
        return detector(batch.images, batch.image_sizes)

    collate = make_collate(config.test_handler)
    handler, full, detect = [], [], []
    with torch.no_grad():
        for _ in range(args.repeat):
            model.reset_tracking()
            for row in range(1 if args.quick else len(dataset)):
                start = time.perf_counter()
                batch = collate([dataset[row]]).to(device)
                handler.append(time.perf_counter() - start)
                for times, run in ((full, model.predict), (detect, _detect)):
                    start = time.perf_counter()
                    run(batch)
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    times.append(time.perf_counter() - start)
    size = "x".join(str(s) for s in batch.images.shape[-2:])
    print(f"{Path(args.config).name}: {len(full)} frames of 1280x720 -> input {size}, {args.threads} threads, {device}")
    for name, times in (("model.predict", full), ("detector alone", detect), ("data handler", handler)):
        median = statistics.median(times[1:] or times)  # the first frame warms up
        print(f"  {name:15s} {median:7.3f} s/frame  {1 / median:6.2f} fps")


if __name__ == "__main__":
    main()
