"""Tracking overhead benchmarks (not a test).

(a) QDTrack inference per frame (detect + embed + associate) against the same
    detector's ``detect`` alone; reports the ratio (target <= 1.15).
(b) One association step of the QDTrack graph: 100 detections against 100
    remembered tracks, 256-d embeddings; reports the median (target <= 2 ms
    on CPU).

Usage: python benchmarks/bench_tracker.py [--backbone resnet50] [--size 384 640]
       [--iters 5] [--assoc-iters 200] [--skip-model] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vis4d.common.structures import Batch, FrameMeta, Targets
from vis4d.config.schema import BackboneConfig, QDTrackConfig, QDTrackGraphConfig
from vis4d.model.track.graphs.qdtrack import QDTrackGraph


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_association(iters: int, num: int = 100, dim: int = 256) -> float:
    """Median seconds of one QDTrack graph step with ``num`` detections vs ``num`` tracks."""
    gen = torch.Generator().manual_seed(0)
    side = int(num**0.5) + 1
    grid = torch.arange(num)
    x, y = (grid % side).float() * 60, (grid // side).float() * 60
    boxes = torch.stack([x, y, x + 40, y + 40], dim=1)
    classes = torch.randint(0, 8, (num,), generator=gen)
    appearance = torch.randn(num, dim, generator=gen)
    graph = QDTrackGraph(QDTrackGraphConfig())
    scores = torch.rand(num, generator=gen) * 0.15 + 0.85  # all start tracks, all stay matched
    graph(boxes, scores, classes, appearance, 0)
    times = []
    for frame in range(1, iters + 1):
        embeds = appearance + 0.1 * torch.randn(num, dim, generator=gen)
        jitter = torch.rand(num, 4, generator=gen)
        start = time.perf_counter()
        graph(boxes + jitter, scores, classes, embeds, frame)
        times.append(time.perf_counter() - start)
    assert len(graph.tracks) >= num * 0.9, "benchmark setup: tracks should persist"
    return statistics.median(times)


def bench_model(backbone: str, size: tuple[int, int], iters: int, device: torch.device) -> tuple[float, float]:
    """Median seconds per frame of ``detector.detect`` and of ``QDTrack.predict``."""
    from vis4d.model.track.qdtrack import QDTrack

    torch.manual_seed(0)
    model = QDTrack(QDTrackConfig(backbone=BackboneConfig.model_validate({"type": backbone})), num_classes=8).to(device).eval()
    h, w = size
    images = torch.randn(1, 3, h, w, device=device)

    def batch(frame: int) -> Batch:
        meta = FrameMeta(f"f{frame}", "bench", frame, "", (h, w), (h, w))
        return Batch(images, [Targets.empty().to(device)], [meta])

    def run(fn) -> float:
        times = []
        for frame in range(iters + 1):  # the first iteration warms up
            b = batch(frame)
            _sync(device)
            start = time.perf_counter()
            with torch.no_grad():
                fn(b)
            _sync(device)
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])

    # Interleave the two measurements so that load changes affect both alike.
    detect_times, track_times = [], []
    for _ in range(2):
        detect_times.append(run(model.detector.detect))
        model.reset_tracking()
        track_times.append(run(model.predict))
    return min(detect_times), min(track_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", type=int, nargs=2, default=(384, 640), metavar=("H", "W"))
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--assoc-iters", type=int, default=200)
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")

    assoc = bench_association(args.assoc_iters)
    print(f"(b) association step, 100 dets x 100 tracks: median {assoc * 1e3:.3f} ms (target <= 2 ms)")

    if not args.skip_model:
        device = torch.device(args.device)
        detect, track = bench_model(args.backbone, tuple(args.size), args.iters, device)
        print(
            f"(a) {args.backbone}-FPN {args.size[0]}x{args.size[1]}: detect {detect * 1e3:.1f} ms/frame, "
            f"QDTrack predict {track * 1e3:.1f} ms/frame, ratio {track / detect:.3f} (target <= 1.15)"
        )


if __name__ == "__main__":
    main()
